"""The digest engine: source → filter → diff budget → analyzer (cached) → RepoDigest."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Protocol

from bot.config import FilterConfig
from bot.days import DayWindow
from bot.models import Commit, CommitAnalysis, DigestEntry, RepoDigest, Usage, order_entries
from bot.ports import (
    AnalysisStore,
    Analyzer,
    CommitSource,
    CommitStore,
    DigestStore,
    Progress,
)

# Commits written per transaction: few transactions, one chunk's encoding in memory at a time.
COMMIT_CHUNK = 50


class DigestStores(CommitStore, AnalysisStore, DigestStore, Protocol):
    """What the engine keeps: commits, analyses and digests."""


class Overviewer(Protocol):
    """Writes the one-paragraph overview of a day (the model); optional.

    It is given the commits, not their analyses, so it runs beside them, not after.
    """

    async def overview(
        self, repo: str, day: date, language: str, commits: Sequence[Commit]
    ) -> tuple[str | None, Usage]:
        """The overview paragraph and what it cost."""
        ...


@dataclass(frozen=True)
class CommitFilter:
    """Leaves out merges, authors by pattern (`*[bot]`) and files by path glob."""

    config: FilterConfig

    def apply(self, commits: list[Commit]) -> list[Commit]:
        """The commits a digest keeps; a commit whose every file is excluded is dropped."""
        kept = []
        for commit in commits:
            if self.config.skip_merges and commit.is_merge:
                continue
            if any(wildcard_match(p, commit.author) for p in self.config.exclude_authors):
                continue
            files = tuple(f for f in commit.files if not self._excluded(f.path))
            if commit.files and not files:
                continue
            kept.append(replace(commit, files=files))
        return kept

    def _excluded(self, path: str) -> bool:
        return any(wildcard_match(p, path) for p in self.config.exclude_paths)


def wildcard_match(pattern: str, value: str) -> bool:
    """`*` and `?` wildcards only, so `*[bot]` means a literal `[bot]` suffix."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value) is not None


class DigestEngine:
    """Builds digests; every analysis goes through the cache."""

    def __init__(
        self,
        analyzer: Analyzer,
        store: DigestStores,
        commit_filter: CommitFilter,
        *,
        overviewer: Overviewer | None = None,
    ) -> None:
        self._analyzer = analyzer
        self._store = store
        self._filter = commit_filter
        self._overviewer = overviewer
        self._writing = asyncio.Lock()

    @property
    def analyzer(self) -> Analyzer:
        """The analyzer this engine uses."""
        return self._analyzer

    async def analyze(
        self,
        commits: list[Commit],
        language: str,
        progress: Progress | None = None,
        *,
        tz: str | None = None,
    ) -> tuple[list[CommitAnalysis], Usage]:
        """Cached analyses where there are some; new ones are cached the moment each is done."""
        cached = await self._cached(commits, language)
        return await self._fresh(commits, cached, language, progress, tz)

    async def _cached(self, commits: list[Commit], language: str) -> list[CommitAnalysis | None]:
        identity = self._analyzer.identity
        found = await self._store.get_analyses([c.sha for c in commits], identity, language)
        return [found.get(c.sha) for c in commits]

    async def _fresh(
        self,
        commits: list[Commit],
        cached: list[CommitAnalysis | None],
        language: str,
        progress: Progress | None,
        tz: str | None,
    ) -> tuple[list[CommitAnalysis], Usage]:
        identity = self._analyzer.identity
        missing = [c for c, a in zip(commits, cached, strict=True) if a is None]
        hits = len(commits) - len(missing)

        def shifted(done: int, total: int) -> None:
            if progress:
                progress(hits + done, hits + total)

        writer = _GroupWriter(self._store, self._writing)

        async def keep(analysis: CommitAnalysis) -> None:
            # A fallback analysis is not cached under the model's key: the next run retries it.
            if analysis.analyzer == identity:
                await writer.put(analysis)

        try:
            fresh, usage = await self._analyzer.analyze_batch(
                missing, language, shifted, tz=tz, sink=keep
            )
        finally:  # what was analyzed is kept, even when the run stops
            await writer.drain()
        by_sha = {a.sha: a for a in fresh}
        return [
            a if a is not None else by_sha[c.sha] for c, a in zip(commits, cached, strict=True)
        ], usage

    async def build(
        self,
        source: CommitSource,
        window: DayWindow,
        language: str,
        progress: Progress | None = None,
        commit_filter: CommitFilter | None = None,
    ) -> RepoDigest:
        """The digest of one repository's day, stored for recall; a subscription may filter."""
        commits = (commit_filter or self._filter).apply(await source.commits(window))
        repo = await source.repo_name()
        cached = await self._cached(commits, language)
        # Beside the model calls, not before them: the commits are kept for recall, the
        # overview is written from the commits alone.
        keeping = asyncio.create_task(self._keep_commits(commits))
        writing = asyncio.create_task(self._overview(repo, window, language, commits))
        try:
            analyses, usage = await self._fresh(commits, cached, language, progress, window.tz)
            await keeping
            overview, spent = await writing
        except BaseException:
            keeping.cancel()
            writing.cancel()
            raise
        # Entries keep each commit's info, not its patches: from here on the day's patch text
        # is only in the store, and is freed here rather than when the digest is.
        entries = [DigestEntry(c.info(), a) for c, a in zip(commits, analyses, strict=True)]
        del commits
        digest = RepoDigest(
            repo, window.day, window.tz, language, order_entries(entries), overview, usage + spent
        )
        await self._store.put_digest(digest)
        return digest

    async def _keep_commits(self, commits: list[Commit]) -> None:
        """Kept by SHA so explain and follow-ups find them later, from any source.

        Not under the analyses' write lock: a chunk is encoded before its short transaction
        (the store queues SQLite's writers), so a cached analysis never waits for encoding.
        """
        for start in range(0, len(commits), COMMIT_CHUNK):
            await self._store.put_commits(commits[start : start + COMMIT_CHUNK])

    async def _overview(
        self, repo: str, window: DayWindow, language: str, commits: list[Commit]
    ) -> tuple[str | None, Usage]:
        """Written beside the analyses; the stored one is reused when the commits are the same."""
        if not self._overviewer or not commits:
            return None, Usage()
        stored = await self._store.get_digest(repo, window.day, window.tz, language)
        same = stored is not None and {e.commit.sha for e in stored.entries} == {
            c.sha for c in commits
        }
        if stored is not None and stored.overview and same:
            return stored.overview, Usage()
        return await self._overviewer.overview(repo, window.day, language, commits)


class _GroupWriter:
    """Caches each analysis as it completes; those finishing during a write share the next.

    The analyzer is not held up by the database: a write runs beside it, one at a time (SQLite
    has one writer), one transaction each, so a wave of answers (or a day of rules analyses,
    which come one right after another) costs a few transactions, not one each on the critical
    path. A write that fails is raised at the next analysis, so a dead database stops the run.
    """

    def __init__(self, store: AnalysisStore, lock: asyncio.Lock) -> None:
        self._store = store
        self._lock = lock
        self._pending: list[CommitAnalysis] = []
        self._writing: asyncio.Task[None] | None = None
        self._failure: Exception | None = None

    async def put(self, analysis: CommitAnalysis) -> None:
        """Queue one analysis for the next write."""
        self._raise_failure()
        self._pending.append(analysis)
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write())

    async def drain(self) -> None:
        """Wait until every queued analysis is written (a cancelled caller does not stop it)."""
        if self._writing is not None:
            await asyncio.shield(self._writing)
        self._raise_failure()

    async def _write(self) -> None:
        try:
            while self._pending:
                async with self._lock:
                    batch, self._pending = self._pending, []
                    await self._store.put_analyses(batch)
        except Exception as exc:  # handed to the analyzer at its next analysis
            self._failure = exc

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure
