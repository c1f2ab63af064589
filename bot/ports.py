"""The interfaces the core owns; sources, models, stores and chat adapters implement them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from bot.days import DayWindow
from bot.models import (
    AnalyzerIdentity,
    Commit,
    CommitAnalysis,
    DigestSummary,
    RepoDigest,
    Usage,
)


class CommitSource(Protocol):
    """Where commits come from: a local repository or GitHub."""

    async def repo_name(self) -> str:
        """The `owner/name` (or directory name) shown in reports."""
        ...

    async def commits(
        self, window: DayWindow, progress: FetchProgress | None = None
    ) -> list[Commit]:
        """Commits on the branch whose committer time falls in the window, oldest first.

        `progress`, when given, is told how the fetch goes (commits read, waits for a limit).
        """
        ...

    async def latest_commit_time(self) -> datetime | None:
        """Committer time of the branch head, for `--date last`."""
        ...

    async def find(self, pr_number: int | None = None, sha: str | None = None) -> list[Commit]:
        """The commits that merged a pull request, or the one with a SHA prefix."""
        ...


class AnalysisSink(Protocol):
    """Given each analysis the moment it is final, so the engine can save it at once."""

    async def __call__(self, analysis: CommitAnalysis) -> None:
        """Keep one finished analysis."""
        ...


class Analyzer(Protocol):
    """Turns commits into CommitAnalyses; a batch lets a model triage the whole day at once."""

    @property
    def identity(self) -> AnalyzerIdentity:
        """What this analyzer is; part of the cache key."""
        ...

    async def analyze_batch(
        self,
        commits: Sequence[Commit],
        language: str,
        progress: Progress | None = None,
        *,
        tz: str | None = None,
        sink: AnalysisSink | None = None,
    ) -> tuple[list[CommitAnalysis], Usage]:
        """Analyses in the order given and their cost; each is also given to `sink` when done.

        `tz` is the digest's zone, in which a model is told when each commit was made.
        """
        ...


@dataclass(frozen=True)
class ModelReply:
    """What the model said, why it stopped, and what it cost."""

    content: str
    finish_reason: str
    usage: Usage


class ModelClient(Protocol):
    """An OpenAI-compatible model: one JSON call and one text call.

    Both raise bot.errors.ModelCallError (with a reason code) and nothing else.
    """

    @property
    def unreachable(self) -> bool:
        """True while calls are refused because the endpoint kept failing (the breaker)."""
        ...

    async def json_call(
        self, system: str, user: str, name: str, schema: dict[str, Any], max_tokens: int
    ) -> ModelReply:
        """Ask for JSON matching a schema."""
        ...

    async def text_call(self, system: str, user: str, max_tokens: int) -> ModelReply:
        """Ask for plain text."""
        ...


class CommitStore(Protocol):
    """Commits kept by SHA: they never change, so a re-run fetches only the list.

    The one place a commit's patches are kept; digests reference commits.
    """

    async def get_commit(self, repo: str, sha: str) -> Commit | None:
        """A stored commit with its files and patches, or None."""
        ...

    async def put_commit(self, commit: Commit) -> None:
        """Keep a commit."""
        ...

    async def put_commits(self, commits: Sequence[Commit]) -> None:
        """Keep several commits in one transaction (those already kept are skipped)."""
        ...


class AnalysisStore(Protocol):
    """Analyses keyed by SHA, analyzer, prompt version, model and language."""

    async def get_analysis(
        self, sha: str, identity: AnalyzerIdentity, language: str
    ) -> CommitAnalysis | None:
        """A cached analysis, or None."""
        ...

    async def get_analyses(
        self, shas: Sequence[str], identity: AnalyzerIdentity, language: str
    ) -> dict[str, CommitAnalysis]:
        """The cached analyses of several commits, by SHA (one query, not one per commit)."""
        ...

    async def put_analysis(self, analysis: CommitAnalysis) -> None:
        """Cache an analysis."""
        ...

    async def put_analyses(self, analyses: Sequence[CommitAnalysis]) -> None:
        """Cache several analyses in one transaction."""
        ...


class DigestStore(Protocol):
    """Built digests, so a command can recall one."""

    async def get_digest(self, repo: str, day: date, tz: str, language: str) -> RepoDigest | None:
        """A stored digest (entries without patches), or None."""
        ...

    async def put_digest(self, digest: RepoDigest) -> None:
        """Keep (or replace) a digest; its commits must be in the CommitStore already."""
        ...


class DigestArchive(Protocol):
    """Stored digests for the report pages."""

    async def get_digest(self, repo: str, day: date, tz: str, language: str) -> RepoDigest | None:
        """A stored digest (entries without patches), or None."""
        ...

    async def list_summaries(self, repo: str, limit: int = 400) -> list[DigestSummary]:
        """A repository's stored digests as summary rows (no entries), newest day first."""
        ...

    async def summaries_with(
        self, repo: str, shas: Sequence[str], limit: int = 100
    ) -> list[DigestSummary]:
        """The summary rows of the digests that list any of `shas` (commits), newest first."""
        ...


class Progress(Protocol):
    """Told how far a digest has got; the CLI draws a bar from it."""

    def __call__(self, done: int, total: int) -> None:
        """Report `done` of `total` commits analyzed."""
        ...


class FetchProgress(Protocol):
    """Told how a source's fetch is going; the CLI draws it on a terminal."""

    def fetched(self, done: int, total: int) -> None:
        """`done` of the window's `total` commits have been read."""
        ...

    def waiting(self, seconds: float, reason: str) -> None:
        """The source waits `seconds` before going on, for `reason` (a rate limit)."""
        ...
