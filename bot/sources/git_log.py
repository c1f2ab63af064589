"""An incremental parser of one `git log -p` stream: commits and their files, exact per file.

Each `diff --git` section is one file, told apart by its own header lines (not by counting
sections against another listing), so empty commits, mode-only changes, binaries, submodules
and names with newlines or odd bytes map exactly. Patch text is kept only up to the limits;
lines past them are counted, never held.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.models import FileChange, FileStatus
from bot.sources.patch_limits import PatchLimits

_DIFF = b"diff --git "
_STATUS_LINES = {
    b"new file mode ": FileStatus.ADDED,
    b"deleted file mode ": FileStatus.REMOVED,
}
_C_ESCAPES = {
    ord("a"): 7,
    ord("b"): 8,
    ord("t"): 9,
    ord("n"): 10,
    ord("v"): 11,
    ord("f"): 12,
    ord("r"): 13,
    ord('"'): 34,
    ord("\\"): 92,
}


def log_format(token: str) -> str:
    """The `--format` that frames each commit with marker lines no patch line can start with."""
    return f"%x1e{token} %H %ct %P%n%an%n%B%x1f{token}"


def decode(raw: bytes) -> str:
    """Text from git's bytes; a byte that is not UTF-8 becomes U+FFFD, never an error."""
    return raw.decode("utf-8", errors="replace")


def unquote(raw: bytes) -> bytes:
    """A path as git prints it (C-quoted when it holds odd bytes) → its exact bytes."""
    if not (raw.startswith(b'"') and raw.endswith(b'"') and len(raw) >= 2):
        return raw
    out = bytearray()
    body, i = raw[1:-1], 0
    while i < len(body):
        char = body[i]
        if char != 92 or i + 1 >= len(body):  # not a backslash
            out.append(char)
            i += 1
        elif _octal(body[i + 1 : i + 4]):  # \ooo: one byte in octal
            out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            out.append(_C_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
    return bytes(out)


def _octal(digits: bytes) -> bool:
    return len(digits) == 3 and all(0x30 <= d <= 0x37 for d in digits)


def _header_path(rest: bytes) -> bytes:
    """The path of `diff --git a/X b/X`, read when both sides name the same file.

    Both sides are then printed alike (both C-quoted or neither) and differ only in the a/, b/
    prefix, so the first half is exact even when X holds spaces or " b/". A rename's halves
    differ: its `rename from`/`rename to` lines give the paths instead.
    """
    first = unquote(rest[: (len(rest) - 1) // 2])
    return first[2:] if first.startswith(b"a/") else first


@dataclass(frozen=True)
class LogHead:
    """A commit's header fields as the log frames them."""

    sha: str
    committed_at: datetime
    parents: int
    author: str
    message: str


@dataclass
class _Block:
    """One `diff --git` section being read."""

    path: bytes
    status: FileStatus = FileStatus.MODIFIED
    old_path: bytes | None = None
    binary: bool = False
    additions: int = 0
    deletions: int = 0
    kept: list[bytes] = field(default_factory=list)
    kept_bytes: int = 0
    truncated: bool = False

    def header(self, line: bytes) -> None:
        for prefix, status in _STATUS_LINES.items():
            if line.startswith(prefix):
                self.status = status
                return
        if line.startswith((b"rename from ", b"copy from ")):
            self.old_path = unquote(line.split(b" ", 2)[2])
            # Copies appear only if git is told to find them; a copy is a new file.
            self.status = FileStatus.RENAMED if line[0:1] == b"r" else FileStatus.ADDED
        elif line.startswith((b"rename to ", b"copy to ")):
            self.path = unquote(line.split(b" ", 2)[2])
        elif line.startswith((b"Binary files ", b"GIT binary patch")):
            self.binary = True

    def change(self) -> FileChange:
        patch = decode(b"\n".join(self.kept)).rstrip("\n") if self.kept else None
        return FileChange(
            path=decode(self.path),
            status=self.status,
            additions=self.additions,
            deletions=self.deletions,
            patch=None if self.binary else patch,
            binary=self.binary,
            old_path=decode(self.old_path) if self.old_path is not None else None,
            patch_truncated=self.truncated,
        )


class LogReader:
    """Turns the lines of `git log -p --format=log_format(token)` into commits, one at a time."""

    def __init__(self, token: str, limits: PatchLimits) -> None:
        self._start = b"\x1e" + token.encode()
        self._end = b"\x1f" + token.encode()
        self._limits = limits
        self._head: LogHead | None = None
        self._files: list[FileChange] = []
        self._block: _Block | None = None
        self._room = limits.commit_bytes

    def commits(self, lines: Iterator[bytes]) -> Iterator[tuple[LogHead, tuple[FileChange, ...]]]:
        """Each commit as soon as its last file has been read."""
        line = next(lines, None)
        while line is not None:
            if line.startswith(self._start):
                if self._head is not None:
                    yield self._finish()
                self._head = self._read_head(line, lines)
                line = next(lines, None)
            elif line.startswith(_DIFF) and self._head is not None:
                self._close_block()
                self._block = _Block(_header_path(line[len(_DIFF) :]))
                line = next(lines, None)
            elif line.startswith(b"@@") and self._block is not None:
                line = self._read_hunks(line, lines)
            else:
                if self._block is not None:
                    self._block.header(line)
                line = next(lines, None)
        if self._head is not None:
            yield self._finish()

    def _read_head(self, first: bytes, lines: Iterator[bytes]) -> LogHead:
        sha, stamp, *parents = decode(first[len(self._start) :]).split()
        author = decode(next(lines, b""))
        message: list[bytes] = []
        for line in lines:
            # %B usually ends in a newline; when it does not, the end marker ends its last line.
            if line.endswith(self._end):
                message.append(line[: -len(self._end)])
                break
            message.append(line)
        when = datetime.fromtimestamp(int(stamp), UTC)
        text = decode(b"\n".join(message)).rstrip("\n")
        return LogHead(sha, when, len(parents), author, text)

    def _read_hunks(self, line: bytes | None, lines: Iterator[bytes]) -> bytes | None:
        """Count and keep hunk lines; return the first line after the hunks (or None at the end)."""
        block = self._block
        assert block is not None
        room = start_room = min(self._limits.file_bytes, self._room)
        keep = True
        added = deleted = 0
        start, kept = self._start, block.kept
        while line is not None:
            head = line[:1]
            if head == b"+":
                added += 1
            elif head == b"-":
                deleted += 1
            elif (head == b"d" and line.startswith(_DIFF)) or line.startswith(start):
                break
            if keep:
                room -= len(line) + 1
                if room >= 0:
                    kept.append(line)
                else:
                    keep = False
            line = next(lines, None)
        block.additions += added
        block.deletions += deleted
        block.truncated = not keep
        block.kept_bytes = start_room - room if keep else sum(len(k) + 1 for k in kept)
        return line

    def _close_block(self) -> None:
        block, self._block = self._block, None
        if block is None:
            return
        self._room -= block.kept_bytes
        change = block.change()
        previous = self._files[-1] if self._files else None
        # A type change (symlink → file, file → submodule) is printed as a deletion followed by
        # a creation of the same path: it is one changed file.
        if (
            previous is not None
            and previous.path == change.path
            and previous.status is FileStatus.REMOVED
            and change.status is FileStatus.ADDED
        ):
            change = _joined(previous, change)
            self._files.pop()
        self._files.append(change)

    def _finish(self) -> tuple[LogHead, tuple[FileChange, ...]]:
        self._close_block()
        head, files = self._head, tuple(self._files)
        assert head is not None
        self._head, self._files, self._room = None, [], self._limits.commit_bytes
        return head, files


def _joined(removed: FileChange, added: FileChange) -> FileChange:
    patches = [p for p in (removed.patch, added.patch) if p]
    return FileChange(
        path=added.path,
        status=FileStatus.MODIFIED,
        additions=removed.additions + added.additions,
        deletions=removed.deletions + added.deletions,
        patch="\n".join(patches) or None,
        binary=removed.binary or added.binary,
        patch_truncated=removed.patch_truncated or added.patch_truncated,
    )
