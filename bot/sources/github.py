"""Commits from GitHub (or GitHub Enterprise) through PyGithub, run in worker threads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from github import Auth, Github, GithubException
from github.GithubException import (
    BadCredentialsException,
    RateLimitExceededException,
    UnknownObjectException,
)

from bot.days import DayWindow
from bot.errors import RateLimitedError, SourceError
from bot.models import Commit, FileChange, FileStatus
from bot.ports import CommitStore

T = TypeVar("T")
# Parallel commit fetches: GitHub discourages many concurrent requests from one token.
_FETCH_CONCURRENCY = 4
_STATUS = {"added": FileStatus.ADDED, "removed": FileStatus.REMOVED, "renamed": FileStatus.RENAMED}


@dataclass(frozen=True)
class RetryPolicy:
    """How the GitHub source retries: 5xx with backoff, rate limits when the reset is near."""

    attempts: int = 4
    backoff_seconds: float = 1.0
    max_rate_limit_wait_seconds: float = 90.0


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
    ) -> None:
        self._full_name = full_name
        self._store = store
        self._token = token
        self._base_url = base_url
        self._branch = branch
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._client: Github | None = None
        self._repo: Any = None

    def _github(self) -> Github:
        if self._client is None:
            # retry=None: our retries give rate limits a clear error instead of hour-long sleeps.
            self._client = Github(
                auth=Auth.Token(self._token) if self._token else None,
                base_url=self._base_url,
                retry=None,
                timeout=30,
                seconds_between_requests=None,
                seconds_between_writes=None,
            )
        return self._client

    async def _call(self, fn: Callable[[], T]) -> T:
        """Run blocking PyGithub work in a thread, retrying 5xx and near rate-limit resets."""
        for attempt in range(1, self._retry.attempts + 1):
            try:
                return await asyncio.to_thread(fn)
            except (RateLimitExceededException, GithubException) as exc:
                await self._recover(exc, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _recover(self, exc: GithubException, attempt: int) -> None:
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
                raise RateLimitedError(_rate_limit_message(exc.headers or {}, wait)) from None
            await self._sleep(wait)
            return
        if exc.status >= 500 and not last:
            await self._sleep(self._retry.backoff_seconds * 2 ** (attempt - 1))
            return
        raise SourceError(
            f"GitHub answered {exc.status} for {self._full_name}: "
            f"{(exc.data or {}).get('message', exc)}"
        ) from None

    async def _repository(self) -> Any:
        if self._repo is None:
            self._repo = await self._call(lambda: _loaded(self._github().get_repo(self._full_name)))
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

    async def commits(self, window: DayWindow) -> list[Commit]:
        """The window's commits; only the list is asked for when the commits are stored."""
        repo, branch = await self._repository(), await self._branch_name()
        # PyGithub writes since/until with a literal Z and no conversion: convert first.
        since = window.start.astimezone(UTC)
        until = window.end.astimezone(UTC)
        listing = await self._call(
            lambda: [
                (c.sha, _aware(c.commit.committer.date))
                for c in repo.get_commits(sha=branch, since=since, until=until)
            ]
        )
        shas = [sha for sha, when in listing if window.contains(when)]
        name = await self.repo_name()
        gate = asyncio.Semaphore(_FETCH_CONCURRENCY)

        async def fetch(sha: str) -> Commit:
            async with gate:
                return await self._commit(repo, name, sha)

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

    async def _commit(self, repo: Any, name: str, sha: str) -> Commit:
        stored = await self._store.get_commit(name, sha)
        if stored is not None:
            return stored
        commit = await self._call(lambda: _to_commit(name, repo.get_commit(sha)))
        await self._store.put_commit(commit)
        return commit


def _loaded(repo: Any) -> Any:
    # Touch an attribute inside the worker thread, so lazy loading raises 404 here.
    _ = repo.full_name
    return repo


def _aware(moment: datetime) -> datetime:
    # PyGithub returns aware UTC datetimes in 2.x; older releases returned naive UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _to_commit(name: str, gh_commit: Any) -> Commit:
    """A PyGithub Commit (files paged beyond 300) → our Commit; blocking."""
    files = tuple(_to_file(f) for f in gh_commit.files)
    info = gh_commit.commit
    return Commit(
        repo=name,
        sha=gh_commit.sha,
        author=info.author.name if info.author else "",
        committed_at=_aware(info.committer.date),
        message=info.message,
        parents=len(gh_commit.parents),
        files=files,
        url=gh_commit.html_url,
    )


def _to_file(gh_file: Any) -> FileChange:
    patch = gh_file.patch
    status = _STATUS.get(gh_file.status, FileStatus.MODIFIED)
    # GitHub omits the patch of a binary file and counts no lines for it.
    binary = patch is None and gh_file.changes == 0 and status is not FileStatus.RENAMED
    return FileChange(
        path=gh_file.filename,
        status=status,
        additions=gh_file.additions,
        deletions=gh_file.deletions,
        patch=patch or None,
        binary=binary,
        old_path=gh_file.previous_filename if status is FileStatus.RENAMED else None,
    )


def _rate_limit_wait(headers: dict[str, Any]) -> float:
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after" in lowered:
        return float(lowered["retry-after"])
    if "x-ratelimit-reset" in lowered:
        return max(0.0, float(lowered["x-ratelimit-reset"]) - time.time())
    return 60.0  # GitHub's advice for secondary limits without a header


def _rate_limit_message(headers: dict[str, Any], wait: float) -> str:
    reset = datetime.fromtimestamp(time.time() + wait, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f"GitHub rate limit exceeded; it resets at {reset}. "
        "Set GITHUB_TOKEN for a higher limit, or try again after the reset."
    )
