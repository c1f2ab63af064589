"""Commits from GitHub (or GitHub Enterprise) through PyGithub, run in worker threads."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from github import Auth, Github, GithubException
from github.GithubException import (
    BadCredentialsException,
    RateLimitExceededException,
    UnknownObjectException,
)

from bot.days import DayWindow
from bot.errors import RateLimitedError, SourceError
from bot.models import Commit, FileChange, FileStatus
from bot.ports import CommitStore, FetchProgress
from bot.sources.local_git import check_branch
from bot.sources.network import network_failure
from bot.sources.patch_limits import PatchLimits, cut_patch
from bot.sources.request_gate import RequestGate
from bot.telemetry import Retry, emit

T = TypeVar("T")
_log = logging.getLogger(__name__)
# Parallel commit fetches: GitHub discourages many concurrent requests from one token.
_FETCH_CONCURRENCY = 4
# GitHub's largest page: a normal day's list is then one request (PyGithub's default is 30).
_PAGE_SIZE = 100
_FILES_PAGE = 300  # a commit's files: GitHub's largest page (the general page size would cut it)
_STATUS = {"added": FileStatus.ADDED, "removed": FileStatus.REMOVED, "renamed": FileStatus.RENAMED}
# The blob id of an empty file: GitHub sends no patch for it, and it is not binary.
_EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


@dataclass(frozen=True)
class RetryPolicy:
    """How the GitHub source retries: 5xx and network errors with backoff, near rate limits."""

    attempts: int = 4
    backoff_seconds: float = 1.0
    max_rate_limit_wait_seconds: float = 90.0
    timeout_seconds: int = 30  # PyGithub takes whole seconds only


class GitHubSource:
    """Commits of one `owner/name` on its default branch (or a given one)."""

    def __init__(
        self,
        full_name: str,
        store: CommitStore,
        *,
        token: str | None = None,
        base_url: str = "https://api.github.com",
        branch: str | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        limits: PatchLimits | None = None,
        gate: RequestGate | None = None,
        progress: FetchProgress | None = None,
    ) -> None:
        self._full_name = full_name
        self._store = store
        self._token = token
        self._base_url = base_url
        self._branch = check_branch(branch)
        self._retry = retry or RetryPolicy()
        self._limits = limits or PatchLimits()
        self._sleep = sleep
        # The process's one GitHub budget (digestbot.wiring); a source made alone has its own.
        self._gate = gate or RequestGate(sleep=sleep)
        self._client: Github | None = None
        self._repo: Any = None
        # Told of every fetch step and wait (the repository's look-up included) by default.
        self._progress = progress

    def _github(self) -> Github:
        if self._client is None:
            # retry=None: our retries give rate limits a clear error instead of hour-long sleeps.
            self._client = Github(
                auth=Auth.Token(self._token) if self._token else None,
                base_url=self._base_url,
                retry=None,
                timeout=self._retry.timeout_seconds,
                per_page=_PAGE_SIZE,
                seconds_between_requests=None,
                seconds_between_writes=None,
            )
        return self._client

    async def _call(self, fn: Callable[[], T], progress: FetchProgress | None = None) -> T:
        """Run blocking PyGithub work in the gate's threads; retry 5xx, network errors, resets."""
        progress = progress or self._progress
        for attempt in range(1, self._retry.attempts + 1):
            try:
                return await self._gate.run(fn)
            except (RateLimitExceededException, GithubException) as exc:
                await self._recover(exc, attempt, progress)
            except requests.RequestException as exc:
                await self._reconnect(exc, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _reconnect(self, exc: requests.RequestException, attempt: int) -> None:
        """Back off after a connection refused, reset, DNS failure or time-out; then one line."""
        what = network_failure(exc)
        host = urlsplit(self._base_url).netloc or self._base_url
        if attempt >= self._retry.attempts:
            raise SourceError(
                f"cannot reach GitHub at {host}: {what} (tried {attempt} times); "
                "check the network, or GITHUB_API_URL"
            ) from None
        wait = self._retry.backoff_seconds * 2 ** (attempt - 1)
        self._retrying(attempt, wait, f"{what} at {host}")
        await self._sleep(wait)

    def _retrying(self, attempt: int, wait: float, reason: str) -> None:
        name = self._full_name
        emit(Retry("github", f"github {name}", attempt, wait, reason, {"repo": name}), _log)

    async def _recover(
        self, exc: GithubException, attempt: int, progress: FetchProgress | None = None
    ) -> None:
        last = attempt >= self._retry.attempts
        if isinstance(exc, BadCredentialsException) or exc.status == 401:
            raise SourceError("GitHub refused the token (401): check GITHUB_TOKEN") from None
        if isinstance(exc, UnknownObjectException) or exc.status == 404:
            raise SourceError(
                f"GitHub repository {self._full_name} not found (or the token cannot see it)"
            ) from None
        if isinstance(exc, RateLimitExceededException) or exc.status == 429:
            wait = _rate_limit_wait(exc.headers or {})
            if last or wait > self._retry.max_rate_limit_wait_seconds:
                message = _rate_limit_message(wait, with_token=bool(self._token))
                raise RateLimitedError(message) from None
            # The token's limit: every source's requests wait (at the gate), this retry too.
            self._retrying(attempt, wait, "rate limit (all requests wait)")
            if progress:
                progress.waiting(wait, "GitHub rate limit")
            self._gate.pause(wait)
            return
        if exc.status >= 500 and not last:
            wait = self._retry.backoff_seconds * 2 ** (attempt - 1)
            self._retrying(attempt, wait, f"HTTP {exc.status}")
            await self._sleep(wait)
            return
        raise SourceError(
            f"GitHub answered {exc.status} for {self._full_name}: "
            f"{(exc.data or {}).get('message', exc)}"
        ) from None

    async def _repository(self, progress: FetchProgress | None = None) -> Any:
        if self._repo is None:
            self._repo = await self._call(
                lambda: _loaded(self._github().get_repo(self._full_name)), progress
            )
        return self._repo

    async def repo_name(self) -> str:
        """The repository's `owner/name` as GitHub spells it."""
        repo = await self._repository()
        return str(repo.full_name)

    async def _branch_name(self) -> str:
        return self._branch or str((await self._repository()).default_branch)

    async def latest_commit_time(self) -> datetime | None:
        """Committer time of the branch head."""
        repo, branch = await self._repository(), await self._branch_name()
        head = await self._call(lambda: repo.get_commits(sha=branch)[0])
        return _aware(head.commit.committer.date)

    async def commits(
        self, window: DayWindow, progress: FetchProgress | None = None
    ) -> list[Commit]:
        """The window's commits; only the list is asked for when the commits are stored."""
        progress = progress or self._progress
        repo = await self._repository(progress)
        branch = await self._branch_name()
        # PyGithub writes since/until with a literal Z and no conversion: convert first.
        since = window.start.astimezone(UTC)
        until = window.end.astimezone(UTC)
        listing = await self._call(
            lambda: [
                (c.sha, _aware(c.commit.committer.date))
                for c in repo.get_commits(sha=branch, since=since, until=until)
            ],
            progress,
        )
        shas = [sha for sha, when in listing if window.contains(when)]
        name = await self.repo_name()
        gate = asyncio.Semaphore(_FETCH_CONCURRENCY)
        done = 0

        async def fetch(sha: str) -> Commit:
            nonlocal done
            async with gate:
                commit = await self._commit(repo, name, sha, progress)
            done += 1
            if progress:
                progress.fetched(done, len(shas))
            return commit

        commits = await asyncio.gather(*(fetch(sha) for sha in shas))
        return sorted(commits, key=lambda c: c.committed_at)

    async def find(self, pr_number: int | None = None, sha: str | None = None) -> list[Commit]:
        """The commit that merged a pull request (GitHub's pulls API), or one by SHA."""
        repo, name = await self._repository(), await self.repo_name()
        if pr_number is not None:
            try:
                merged = await self._call(lambda: repo.get_pull(pr_number).merge_commit_sha)
            except SourceError:
                return []
            sha = merged
        if not sha:
            return []
        try:
            return [await self._commit(repo, name, sha)]
        except SourceError:
            return []

    async def _commit(
        self, repo: Any, name: str, sha: str, progress: FetchProgress | None = None
    ) -> Commit:
        stored = await self._store.get_commit(name, sha)
        if stored is not None:
            return stored
        commit = await self._call(
            lambda: _to_commit(
                name, repo.get_commit(sha, commit_files_per_page=_FILES_PAGE), self._limits
            ),
            progress,
        )
        await self._store.put_commit(commit)
        return commit


def _loaded(repo: Any) -> Any:
    # Touch an attribute inside the worker thread, so lazy loading raises 404 here.
    _ = repo.full_name
    return repo


def _aware(moment: datetime) -> datetime:
    # PyGithub returns aware UTC datetimes in 2.x; older releases returned naive UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _to_commit(name: str, gh_commit: Any, limits: PatchLimits) -> Commit:
    """A PyGithub Commit (files paged beyond 300) → our Commit, patches capped; blocking."""
    files = []
    room = limits.commit_bytes
    for gh_file in gh_commit.files:
        change = _to_file(gh_file, min(room, limits.file_bytes))
        room -= len(change.patch.encode("utf-8", "replace")) + 1 if change.patch else 0
        files.append(change)
    info = gh_commit.commit
    return Commit(
        repo=name,
        sha=gh_commit.sha,
        author=info.author.name if info.author else "",
        committed_at=_aware(info.committer.date),
        message=info.message,
        parents=len(gh_commit.parents),
        files=tuple(files),
        url=gh_commit.html_url,
    )


def _to_file(gh_file: Any, room: int) -> FileChange:
    status = _STATUS.get(gh_file.status, FileStatus.MODIFIED)
    patch, cut = cut_patch(gh_file.patch, room) if gh_file.patch else (None, False)
    # No patch and no lines: a binary file, unless it is empty (its blob id says so) or a pure
    # rename. No patch but lines changed: GitHub left a diff out for its size, so it was not
    # seen, which `patch_truncated` says.
    unlisted = gh_file.patch is None and gh_file.changes == 0
    binary = unlisted and status is not FileStatus.RENAMED and gh_file.sha != _EMPTY_BLOB
    return FileChange(
        path=gh_file.filename,
        status=status,
        additions=gh_file.additions,
        deletions=gh_file.deletions,
        patch=patch,
        binary=binary,
        old_path=gh_file.previous_filename if status is FileStatus.RENAMED else None,
        patch_truncated=cut or (gh_file.patch is None and gh_file.changes > 0),
    )


def _rate_limit_wait(headers: dict[str, Any]) -> float:
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after" in lowered:
        return float(lowered["retry-after"])
    if "x-ratelimit-reset" in lowered:
        return max(0.0, float(lowered["x-ratelimit-reset"]) - time.time())
    return 60.0  # GitHub's advice for secondary limits without a header


def _rate_limit_message(wait: float, *, with_token: bool) -> str:
    reset = datetime.fromtimestamp(time.time() + wait, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if with_token:
        return (
            f"GitHub rate limit exceeded; it resets at {reset}. The limit spent is this "
            "GITHUB_TOKEN's: try again after the reset."
        )
    return (
        f"GitHub rate limit exceeded; it resets at {reset}. "
        "Set GITHUB_TOKEN for a higher limit, or try again after the reset."
    )
