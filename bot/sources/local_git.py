"""Commits from a local git repository, read with the git command line (no network, no keys)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

from bot.days import DayWindow
from bot.errors import SourceError
from bot.models import Commit, FileChange, FileStatus

_REMOTE = re.compile(
    r"^(?:[a-z+]+://)?(?:[^@/]+@)?(?P<host>[^:/]+)(?::\d+)?[:/](?P<owner>[^/]+)/(?P<name>[^/]+?)"
    r"(?:\.git)?/?$"
)
_DIFF_START = re.compile(rb"^diff --git ", re.MULTILINE)


def _decode(raw: bytes) -> str:
    # Commit text and patches may hold any bytes; a bad byte becomes U+FFFD, never an error.
    return raw.decode("utf-8", errors="replace")


def parse_remote(url: str) -> tuple[str, str] | None:
    """(host, owner/name) from a git remote URL, or None for a local path."""
    if url.startswith(("/", ".", "file:")):
        return None
    match = _REMOTE.match(url.strip())
    if not match:
        return None
    return match.group("host"), f"{match.group('owner')}/{match.group('name')}"


class LocalGitSource:
    """Commits on a branch of a repository on disk (default: the checked-out one)."""

    def __init__(self, path: Path, branch: str | None = None) -> None:
        self._path = path
        self._branch = branch
        self._remote: tuple[str, str] | bool | None = False

    async def _git(self, *args: str) -> bytes:
        try:
            proc = await asyncio.create_subprocess_exec(
                "git",
                "-C",
                str(self._path),
                *args,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise SourceError("git is not installed on this machine") from exc
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise SourceError(self._explain(_decode(err).strip()))
        return out

    def _explain(self, stderr: str) -> str:
        if not self._path.exists():
            return f"{self._path} does not exist"
        if "not a git repository" in stderr:
            return f"{self._path} is not a git repository"
        if "unknown revision" in stderr or "bad revision" in stderr:
            return f"branch {self._branch!r} does not exist in {self._path}"
        return f"git failed in {self._path}: {stderr}"

    async def _origin(self) -> tuple[str, str] | None:
        if self._remote is False:
            raw = await self._git("config", "--get", "--default", "", "remote.origin.url")
            self._remote = parse_remote(_decode(raw).strip())
        return self._remote if isinstance(self._remote, tuple) else None

    async def repo_name(self) -> str:
        """`owner/name` from the origin remote, else the directory's name."""
        origin = await self._origin()
        if origin:
            return origin[1]
        top = _decode(await self._git("rev-parse", "--show-toplevel")).strip()
        return Path(top).name

    async def latest_commit_time(self) -> datetime | None:
        """Committer time of the branch head."""
        out = _decode(await self._git("log", "-1", "--format=%ct", self._rev())).strip()
        return datetime.fromtimestamp(int(out), UTC) if out else None

    def _rev(self) -> str:
        return self._branch or "HEAD"

    async def commits(self, window: DayWindow) -> list[Commit]:
        """Commits whose committer time is in [start, end) of the window, oldest first."""
        await self._git("rev-parse", "--git-dir")
        start, end = int(window.start.timestamp()), int(window.end.timestamp())
        found = await self._log(self._rev(), f"--since=@{start - 1}", f"--until=@{end}")
        return [c for c in found if window.contains(c.committed_at)]

    async def find(self, pr_number: int | None = None, sha: str | None = None) -> list[Commit]:
        """Commits on the branch that merged a pull request, or the commit with a SHA prefix."""
        if sha:
            try:
                return await self._log("-1", "--no-walk", sha)
            except SourceError:
                return []
        found = await self._log(self._rev(), "-n", "500", "--fixed-strings", f"--grep=#{pr_number}")
        return [c for c in found if c.pr_number == pr_number]

    async def _log(self, *args: str) -> list[Commit]:
        raw = await self._git("log", "-z", "--format=%H %ct %P%n%an%n%B", *args)
        name = await self.repo_name()
        origin = await self._origin()
        heads = [self._head(record) for record in raw.split(b"\0") if record.strip()]
        files = await asyncio.gather(
            *(self._files(sha, parents) for sha, _, parents, _, _ in heads)
        )
        commits = [
            Commit(
                repo=name,
                sha=sha,
                author=author,
                committed_at=when,
                message=message,
                parents=parents,
                files=changed,
                url=f"https://{origin[0]}/{origin[1]}/commit/{sha}" if origin else None,
            )
            for (sha, when, parents, author, message), changed in zip(heads, files, strict=True)
        ]
        return sorted(commits, key=lambda c: c.committed_at)

    @staticmethod
    def _head(record: bytes) -> tuple[str, datetime, int, str, str]:
        first, author, message = ([*record.lstrip(b"\n").split(b"\n", 2), b"", b""])[:3]
        sha, stamp, *parents = _decode(first).split()
        when = datetime.fromtimestamp(int(stamp), UTC)
        return sha, when, len(parents), _decode(author), _decode(message).rstrip("\n")

    async def _files(self, sha: str, parents: int) -> tuple[FileChange, ...]:
        # A merge is shown against its first parent, as GitHub shows it.
        target = [f"{sha}^1", sha] if parents > 1 else ["--root", sha]
        common = ["diff-tree", "-r", "-M", "--no-commit-id", "--no-color", "--no-ext-diff"]
        numstat = await self._git(*common, "--numstat", "-z", *target)
        patch = await self._git(*common, "-p", *target)
        stats = _parse_numstat(numstat)
        chunks = [_decode(c) for c in _split_patch(patch)]
        if len(chunks) != len(stats):
            chunks = [""] * len(stats)
        return tuple(_file_change(stat, chunk) for stat, chunk in zip(stats, chunks, strict=True))


def _parse_numstat(raw: bytes) -> list[tuple[str | None, str, int, int, bool]]:
    """(old path, path, additions, deletions, binary) per file from `--numstat -z`."""
    fields = raw.split(b"\0")
    result: list[tuple[str | None, str, int, int, bool]] = []
    i = 0
    while i < len(fields) and fields[i]:
        added, deleted, path = fields[i].split(b"\t", 2)
        old: str | None = None
        if not path:  # a rename: the old and new paths follow as separate fields
            old, path = _decode(fields[i + 1]), fields[i + 2]
            i += 2
        binary = added == b"-"
        result.append(
            (old, _decode(path), 0 if binary else int(added), 0 if binary else int(deleted), binary)
        )
        i += 1
    return result


def _split_patch(raw: bytes) -> list[bytes]:
    starts = [m.start() for m in _DIFF_START.finditer(raw)]
    return [raw[s:e] for s, e in zip(starts, [*starts[1:], len(raw)], strict=True)]


def _file_change(stat: tuple[str | None, str, int, int, bool], chunk: str) -> FileChange:
    old, path, additions, deletions, binary = stat
    header, _, body = chunk.partition("\n@@")
    status = FileStatus.MODIFIED
    if "\nnew file mode" in header:
        status = FileStatus.ADDED
    elif "\ndeleted file mode" in header:
        status = FileStatus.REMOVED
    elif old is not None:
        status = FileStatus.RENAMED
    patch = ("@@" + body) if body and not binary else None
    return FileChange(
        path=path,
        status=status,
        additions=additions,
        deletions=deletions,
        patch=patch.rstrip("\n") if patch else None,
        binary=binary,
        old_path=old,
    )
