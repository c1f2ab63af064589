"""Commits from a local git repository, read with the git command line (no network, no keys).

A day is read with ONE `git log -p` process whose output is parsed as it streams (in a worker
thread, off the event loop): one process however many commits, time linear in the diff's size,
memory bounded by the patch limits.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import os
import re
import secrets
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from bot.days import DayWindow
from bot.errors import CommandError, SourceError
from bot.models import Commit, FileChange, pr_number_from_title
from bot.ports import FetchProgress
from bot.sources.git_log import LogHead, LogReader, decode, log_format
from bot.sources.patch_limits import PatchLimits

_REMOTE = re.compile(
    r"^(?:[a-z+]+://)?(?:[^@/]+@)?(?P<host>[^:/]+)(?::\d+)?[:/](?P<owner>[^/]+)/(?P<name>[^/]+?)"
    r"(?:\.git)?/?$"
)
_SHA_PREFIX = re.compile(r"^[0-9a-fA-F]{4,40}$")
# git's own rules for a branch name (git-check-ref-format), plus: never an option.
_BAD_REF = re.compile(r"(^[-./])|(\.\.)|(@\{)|([\x00-\x20\x7f~^:?*\[\\])|(\.lock$)|([./]$)|(/\.)")
# Fixed output whatever the user's git config says (prefixes, renames, colour, drivers, notes…).
_LOG_OPTIONS = (
    "--root",
    "--diff-merges=first-parent",  # a merge is shown against its first parent, as GitHub does
    "--find-renames",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "--submodule=short",
    "--ignore-submodules=none",
    "--unified=3",
    "--inter-hunk-context=0",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--no-notes",
    "--no-show-signature",
    "--no-mailmap",
    "--patch",
)
_MAX_LINE = 1024 * 1024  # longer lines are cut (they exceed every patch limit anyway)
_CHUNK = 1 << 16
_TAIL = 64  # bytes kept of a cut line's end: the commit framing marker sits there
_ENV = {"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}


def parse_remote(url: str) -> tuple[str, str] | None:
    """(host, owner/name) from a git remote URL, or None for a local path."""
    if url.startswith(("/", ".", "file:")):
        return None
    match = _REMOTE.match(url.strip())
    if not match:
        return None
    return match.group("host"), f"{match.group('owner')}/{match.group('name')}"


def check_branch(name: str | None) -> str | None:
    """A user-given branch name, refused when git would not take it as one (or as an option)."""
    if name is not None and (not name or _BAD_REF.search(name)):
        raise CommandError(f"{name!r} is not a branch name: use a name such as main or release/1.2")
    return name


def resource_error(exc: OSError, doing: str) -> SourceError | None:
    """One line for a machine limit (open files, memory, processes), else None."""
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        return SourceError(
            f"too many open files while {doing}: raise the limit (ulimit -n) or digest "
            "fewer repositories at once"
        )
    if exc.errno in (errno.ENOMEM, errno.EAGAIN):
        return SourceError(f"out of memory or processes while {doing}: free some and retry")
    return None


class LocalGitSource:
    """Commits on a branch of a repository on disk (default: the checked-out one)."""

    def __init__(
        self,
        path: Path,
        branch: str | None = None,
        limits: PatchLimits | None = None,
        *,
        name: str | None = None,
        progress: FetchProgress | None = None,
    ) -> None:
        self._path = path
        self._name = name  # configured (`NAME=PATH`): shown and asked for instead of the remote
        self._progress = progress  # told how the fetch goes when a call does not say otherwise
        self._branch = check_branch(branch)
        self._limits = limits or PatchLimits()
        self._remote: tuple[str, str] | bool | None = False

    def _command(self, *args: str) -> list[str]:
        return ["git", "-c", "core.quotePath=true", "-C", str(self._path), *args]

    async def _git(self, *args: str) -> bytes:
        """Run a short git command in a worker thread; its output, or a SourceError."""
        try:
            done = await asyncio.to_thread(
                subprocess.run,
                self._command(*args),
                capture_output=True,
                env={**os.environ, **_ENV},
                check=False,
            )
        except OSError as exc:
            raise self._os_error(exc) from None
        if done.returncode != 0:
            raise SourceError(self._explain(decode(done.stderr)))
        return done.stdout

    def _os_error(self, exc: OSError) -> SourceError:
        if isinstance(exc, FileNotFoundError) and exc.filename == "git":
            return SourceError("git is not installed on this machine")
        return resource_error(exc, f"running git in {self._path}") or SourceError(
            f"cannot run git in {self._path}: {exc.strerror or exc}"
        )

    def _explain(self, stderr: str) -> str:
        if not self._path.exists():
            return f"{self._path} does not exist"
        if "not a git repository" in stderr:
            return f"{self._path} is not a git repository"
        if "unknown revision" in stderr or "bad revision" in stderr:
            return f"branch {self._branch!r} does not exist in {self._path}"
        fatal = [line for line in stderr.splitlines() if line.startswith(("fatal:", "error:"))]
        return f"git failed in {self._path}: {(fatal or stderr.splitlines() or ['?'])[0]}"

    async def _origin(self) -> tuple[str, str] | None:
        if self._remote is False:
            raw = await self._git("config", "--get", "--default", "", "remote.origin.url")
            self._remote = parse_remote(decode(raw).strip())
        return self._remote if isinstance(self._remote, tuple) else None

    async def repo_name(self) -> str:
        """The configured name, else `owner/name` from the origin remote, else the directory's."""
        if self._name:
            return self._name
        origin = await self._origin()
        if origin:
            return origin[1]
        top = decode(await self._git("rev-parse", "--show-toplevel")).strip()
        return Path(top).name

    async def _revision(self) -> str | None:
        """The commit to read from: the branch, or HEAD; None for a repository with no commits."""
        await self._git("rev-parse", "--git-dir")
        rev = self._branch or "HEAD"
        try:
            await self._git(
                "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
            )
        except SourceError:
            if self._branch is not None:
                raise SourceError(
                    f"branch {self._branch!r} does not exist in {self._path}"
                ) from None
            return None  # an empty repository: nothing happened on any day
        return rev

    async def latest_commit_time(self) -> datetime | None:
        """Committer time of the branch head; None when the repository has no commits."""
        rev = await self._revision()
        if rev is None:
            return None
        out = decode(await self._git("log", "-1", "--format=%ct", "--end-of-options", rev, "--"))
        return datetime.fromtimestamp(int(out.strip()), UTC) if out.strip() else None

    async def commits(
        self, window: DayWindow, progress: FetchProgress | None = None
    ) -> list[Commit]:
        """Commits whose committer time is in [start, end) of the window, oldest first."""
        rev = await self._revision()
        if rev is None:
            return []
        start, end = int(window.start.timestamp()), int(window.end.timestamp())
        found = await self._log(f"--since=@{start - 1}", f"--until=@{end}", "--end-of-options", rev)
        day = [c for c in found if window.contains(c.committed_at)]
        progress = progress or self._progress
        if progress:  # one git process reads the whole day: there is no step to report before
            progress.fetched(len(day), len(day))
        return day

    async def find(self, pr_number: int | None = None, sha: str | None = None) -> list[Commit]:
        """Commits on the branch that merged a pull request, or the commit with a SHA prefix."""
        if sha is not None:
            if not _SHA_PREFIX.match(sha):
                return []
            try:
                return await self._log("-1", "--no-walk", "--end-of-options", f"{sha}^{{commit}}")
            except SourceError:
                return []
        rev = await self._revision()
        if pr_number is None or rev is None:
            return []
        raw = await self._git(
            "log",
            "-n",
            "500",
            "--format=%H %s",
            "--fixed-strings",
            f"--grep=#{pr_number}",
            "--end-of-options",
            rev,
            "--",
        )
        shas = [
            line.split(" ", 1)[0]
            for line in decode(raw).splitlines()
            if pr_number_from_title(line.partition(" ")[2]) == pr_number
        ]
        return await self._log("--no-walk", "--end-of-options", *shas) if shas else []

    async def _log(self, *args: str) -> list[Commit]:
        name = await self.repo_name()
        origin = await self._origin()
        read = await asyncio.to_thread(self._read_log, args)
        commits = [_commit(name, origin, head, files) for head, files in read]
        return sorted(commits, key=lambda c: c.committed_at)

    def _read_log(self, args: tuple[str, ...]) -> list[tuple[LogHead, tuple[FileChange, ...]]]:
        """Run one `git log -p` and parse its output as it streams (blocking: a worker thread)."""
        token = secrets.token_hex(16)
        command = self._command("log", f"--format={log_format(token)}", *_LOG_OPTIONS, *args, "--")
        with tempfile.TemporaryFile() as errors:
            try:
                proc = subprocess.Popen(
                    command,
                    stdout=subprocess.PIPE,
                    stderr=errors,
                    env={**os.environ, **_ENV},
                )
            except OSError as exc:
                raise self._os_error(exc) from None
            with proc:
                assert proc.stdout is not None
                try:
                    read = functools.partial(os.read, proc.stdout.fileno())
                    found = list(LogReader(token, self._limits).commits(_lines(read)))
                finally:
                    proc.stdout.close()
                    proc.wait()
            if proc.returncode != 0:
                errors.seek(0)
                raise SourceError(self._explain(decode(errors.read(64 * 1024))))
        return found


def _commit(
    name: str, origin: tuple[str, str] | None, head: LogHead, files: tuple[FileChange, ...]
) -> Commit:
    return Commit(
        repo=name,
        sha=head.sha,
        author=head.author,
        committed_at=head.committed_at,
        message=head.message,
        parents=head.parents,
        files=files,
        url=f"https://{origin[0]}/{origin[1]}/commit/{head.sha}" if origin else None,
    )


def _lines(read: Callable[[int], bytes], limit: int = _MAX_LINE) -> Iterator[bytes]:
    """The lines read, without their newline; a line over `limit` keeps its head and its tail.

    Chunks are split in C (bytes.split): a Python loop per line would cost more than git.
    """
    pending = b""
    head: bytes | None = None  # set while skipping the middle of an over-long line
    while chunk := read(_CHUNK):
        if head is not None:
            end = chunk.find(b"\n")
            if end < 0:
                pending = (pending + chunk)[-_TAIL:]
                continue
            yield head + (pending + chunk[:end])[-_TAIL:]
            head, pending, chunk = None, b"", chunk[end + 1 :]
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        yield from lines
        if len(pending) > limit:
            head, pending = pending[:limit], pending[-_TAIL:]
    if head is not None:
        yield head + pending
    elif pending:
        yield pending
