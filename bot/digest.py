"""The digest engine: source → filter → diff budget → analyzer (cached) → RepoDigest."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from typing import Protocol

from bot.budget import DiffBudget
from bot.config import FilterConfig
from bot.days import DayWindow
from bot.models import Commit, CommitAnalysis, DigestEntry, RepoDigest, Usage, order_entries
from bot.ports import AnalysisStore, Analyzer, CommitSource, DigestStore, Progress


class DigestStores(AnalysisStore, DigestStore, Protocol):
    """What the engine keeps: analyses and digests."""


class Overviewer(Protocol):
    """Writes the one-paragraph overview of a digest (the model); optional."""

    async def overview(self, digest: RepoDigest) -> tuple[str | None, Usage]:
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
        budget: DiffBudget,
        commit_filter: CommitFilter,
        *,
        concurrency: int = 4,
        overviewer: Overviewer | None = None,
    ) -> None:
        self._analyzer = analyzer
        self._store = store
        self._budget = budget
        self._filter = commit_filter
        self._concurrency = concurrency
        self._overviewer = overviewer

    @property
    def analyzer(self) -> Analyzer:
        """The analyzer this engine uses."""
        return self._analyzer

    async def analyze(self, commit: Commit, language: str) -> tuple[CommitAnalysis, bool]:
        """The cached analysis, or a new one (then cached); the flag says it is new."""
        identity = self._analyzer.identity
        cached = await self._store.get_analysis(commit.sha, identity, language)
        if cached is not None:
            return cached, False
        analysis = await self._analyzer.analyze(commit, self._budget.apply(commit), language)
        # A fallback analysis is not cached under the model's key: the next run retries it.
        if analysis.analyzer == identity:
            await self._store.put_analysis(analysis)
        return analysis, True

    async def build(
        self,
        source: CommitSource,
        window: DayWindow,
        language: str,
        progress: Progress | None = None,
    ) -> RepoDigest:
        """The digest of one repository's day, stored for recall."""
        commits = self._filter.apply(await source.commits(window))
        gate = asyncio.Semaphore(self._concurrency)
        done = 0

        async def one(commit: Commit) -> tuple[DigestEntry, Usage]:
            nonlocal done
            async with gate:
                analysis, fresh = await self.analyze(commit, language)
            done += 1
            if progress:
                progress(done, len(commits))
            return DigestEntry(commit, analysis), analysis.usage if fresh else Usage()

        results = await asyncio.gather(*(one(c) for c in commits))
        usage = sum((u for _, u in results), Usage())
        digest = RepoDigest(
            repo=await source.repo_name(),
            day=window.day,
            tz=window.tz,
            language=language,
            entries=order_entries([e for e, _ in results]),
            usage=usage,
        )
        if self._overviewer and digest.entries:
            overview, spent = await self._overviewer.overview(digest)
            digest = replace(digest, overview=overview, usage=digest.usage + spent)
        await self._store.put_digest(digest)
        return digest
