"""Frozen domain values shared by every layer: commits, analyses, digests."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Literal, get_args

_PR_PATTERNS = (
    re.compile(r"\(#(\d+)\)\s*$"),
    re.compile(r"^Merge pull request #(\d+)\b"),
)
_CONVENTIONAL = re.compile(
    r"^(?P<type>[a-zA-Z]+)(?:\((?P<scope>[^)]*)\))?(?P<bang>!)?:\s*(?P<desc>.*)$"
)


# Change types: the conventional-commit types, plus "change" for a title without one.
ChangeType = Literal[
    "feat",
    "fix",
    "perf",
    "refactor",
    "test",
    "docs",
    "ci",
    "build",
    "chore",
    "style",
    "revert",
    "change",
]
CONVENTIONAL_TYPES = frozenset(get_args(ChangeType)) - {"change"}


class Severity(enum.Enum):
    """How much a change matters; ordered low < medium < high."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """Numeric order, higher is more severe."""
        return _SEVERITY_RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank


_SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}
SEVERITIES_DESC = (Severity.HIGH, Severity.MEDIUM, Severity.LOW)


class FileStatus(enum.Enum):
    """What a commit did to one file."""

    ADDED = "added"
    MODIFIED = "modified"
    REMOVED = "removed"
    RENAMED = "renamed"


@dataclass(frozen=True)
class FileChange:
    """One file touched by a commit, with its patch when it has a textual one.

    `patch_truncated` is True when the diff was too large to keep whole: `patch` then holds only
    its leading lines, or is None (over the commit's cap, or GitHub left the patch out), while
    `additions` and `deletions` still count the whole diff. Such a file was not seen whole.
    """

    path: str
    status: FileStatus
    additions: int
    deletions: int
    patch: str | None = None
    binary: bool = False
    old_path: str | None = None
    patch_truncated: bool = False

    @property
    def changes(self) -> int:
        """Lines added plus lines deleted."""
        return self.additions + self.deletions


@dataclass(frozen=True)
class ConventionalTitle:
    """A title split into its conventional-commit parts."""

    type: str | None
    scope: str | None
    breaking: bool
    description: str


@dataclass(frozen=True)
class CommitInfo:
    """A commit as a digest shows it: identity, author, time and message, no files or patches.

    Digest entries hold this form, so a built or recalled digest never keeps a day's patch text
    alive; what needs the diff (explain, follow-ups) loads the whole `Commit` from the store.
    `committed_at` is timezone-aware.
    """

    repo: str
    sha: str
    author: str
    committed_at: datetime
    message: str
    parents: int
    url: str | None = None

    @property
    def title(self) -> str:
        """First line of the message."""
        return self.message.strip().split("\n", 1)[0].strip()

    @property
    def body(self) -> str:
        """Everything after the title line."""
        parts = self.message.strip().split("\n", 1)
        return parts[1].strip() if len(parts) > 1 else ""

    @property
    def short_sha(self) -> str:
        """The seven-character abbreviation used in reports and chat."""
        return self.sha[:7]

    @property
    def is_merge(self) -> bool:
        """True for commits with more than one parent."""
        return self.parents > 1

    @property
    def pr_number(self) -> int | None:
        """The pull request named by the title (`… (#6356)` or `Merge pull request #6356 …`)."""
        return pr_number_from_title(self.title)

    @property
    def conventional(self) -> ConventionalTitle:
        """The title parsed as a conventional commit, if it is one."""
        return parse_conventional(self.title)

    def info(self) -> CommitInfo:
        """This commit without its files: what a digest entry keeps."""
        return CommitInfo(**self._info_fields())

    def with_files(self, files: tuple[FileChange, ...]) -> Commit:
        """The whole commit, given its files (as the store keeps them apart)."""
        return Commit(**self._info_fields(), files=files)

    def _info_fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(CommitInfo)}


@dataclass(frozen=True)
class Commit(CommitInfo):
    """An immutable commit as the sources report it: its info and its files with patches."""

    files: tuple[FileChange, ...] = field(kw_only=True)

    @property
    def additions(self) -> int:
        """Lines added across all files."""
        return sum(f.additions for f in self.files)

    @property
    def deletions(self) -> int:
        """Lines deleted across all files."""
        return sum(f.deletions for f in self.files)


def pr_number_from_title(title: str) -> int | None:
    """Extract a pull request number from a commit title."""
    for pattern in _PR_PATTERNS:
        match = pattern.search(title)
        if match:
            return int(match.group(1))
    return None


def parse_conventional(title: str) -> ConventionalTitle:
    """Split `type(scope)!: description`; a plain title has no type."""
    match = _CONVENTIONAL.match(title.strip())
    if not match:
        return ConventionalTitle(None, None, False, title.strip())
    return ConventionalTitle(
        type=match.group("type").lower(),
        scope=match.group("scope"),
        breaking=bool(match.group("bang")),
        description=match.group("desc").strip(),
    )


class FileState(enum.Enum):
    """How much of a file's patch an analysis saw."""

    WHOLE = "whole"
    CLIPPED = "clipped"
    OMITTED = "omitted"


@dataclass(frozen=True)
class FileCoverage:
    """One file's place in the diff budget, and why."""

    path: str
    state: FileState
    reason: str | None = None


@dataclass(frozen=True)
class Coverage:
    """Which files a model saw whole, clipped or not at all."""

    files: tuple[FileCoverage, ...]
    budget_tokens: int
    used_tokens: int

    @property
    def complete(self) -> bool:
        """True when every file with a patch was seen whole."""
        return all(f.state is FileState.WHOLE for f in self.files if f.reason != "empty")

    def paths(self, state: FileState) -> tuple[str, ...]:
        """Paths of the files in one state."""
        return tuple(f.path for f in self.files if f.state is state)


@dataclass(frozen=True)
class BudgetedDiff:
    """The diff text a model may see for one commit, and its coverage."""

    text: str
    coverage: Coverage


@dataclass(frozen=True)
class Insights:
    """Technical insights for a high-severity change."""

    architecture: str | None = None
    performance: str | None = None
    security: str | None = None
    maintainability: str | None = None

    def items(self) -> tuple[tuple[str, str], ...]:
        """Non-empty (dimension, text) pairs in a fixed order."""
        pairs = (
            ("architecture", self.architecture),
            ("performance", self.performance),
            ("security", self.security),
            ("maintainability", self.maintainability),
        )
        return tuple((k, v) for k, v in pairs if v)


@dataclass(frozen=True)
class Usage:
    """Model tokens spent; zero for the rules analyzer."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    # True when the run stopped calling an unreachable model and the rules took over.
    model_unreachable: bool = False

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.calls + other.calls,
            self.model_unreachable or other.model_unreachable,
        )


@dataclass(frozen=True)
class AnalyzerIdentity:
    """What produced an analysis; part of every cached analysis's key."""

    name: str
    prompt_version: str
    model: str


@dataclass(frozen=True)
class CommitAnalysis:
    """What one commit means, as data; one renderer draws every entry from it."""

    sha: str
    change_type: str
    severity: Severity
    severity_reason: str
    summary: str
    impact_scope: tuple[str, ...]
    analyzer: AnalyzerIdentity
    language: str
    insights: Insights | None = None
    risks: tuple[str, ...] = ()
    recommendations: tuple[str, ...] = ()
    coverage: Coverage | None = None
    fallback_reason: str | None = None
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class DigestEntry:
    """A commit (without its patches: `Commit.info()`) with its analysis."""

    commit: CommitInfo
    analysis: CommitAnalysis


@dataclass(frozen=True)
class RepoDigest:
    """One repository's day: entries ordered high → low, newest first within a severity."""

    repo: str
    day: date
    tz: str
    language: str
    entries: tuple[DigestEntry, ...]
    overview: str | None = None
    usage: Usage = field(default_factory=Usage)

    def counts(self) -> dict[Severity, int]:
        """How many entries each severity has."""
        counts = dict.fromkeys(SEVERITIES_DESC, 0)
        for entry in self.entries:
            counts[entry.analysis.severity] += 1
        return counts

    def group(self, severity: Severity) -> tuple[DigestEntry, ...]:
        """Entries of one severity, in digest order."""
        return tuple(e for e in self.entries if e.analysis.severity is severity)

    def summary(self) -> DigestSummary:
        """What an index lists of this digest."""
        counts = self.counts()
        return DigestSummary(
            self.repo,
            self.day,
            self.tz,
            self.language,
            counts[Severity.HIGH],
            counts[Severity.MEDIUM],
            counts[Severity.LOW],
            self.overview,
        )


@dataclass(frozen=True)
class DigestSummary:
    """A stored digest's summary row: its identity and severity counts, none of its entries."""

    repo: str
    day: date
    tz: str
    language: str
    high: int
    medium: int
    low: int
    overview: str | None = None

    @property
    def total(self) -> int:
        """How many commits the digest has."""
        return self.high + self.medium + self.low

    def counts(self) -> dict[Severity, int]:
        """How many entries each severity has (as RepoDigest.counts)."""
        return {Severity.HIGH: self.high, Severity.MEDIUM: self.medium, Severity.LOW: self.low}


def order_entries(entries: list[DigestEntry]) -> tuple[DigestEntry, ...]:
    """Sort high → low, newest first within each severity."""
    by_time = sorted(entries, key=lambda e: e.commit.committed_at, reverse=True)
    return tuple(sorted(by_time, key=lambda e: -e.analysis.severity.rank))


@dataclass(frozen=True)
class Report:
    """The full report: one day, one language, one or several repositories."""

    day: date
    language: str
    digests: tuple[RepoDigest, ...]

    @property
    def usage(self) -> Usage:
        """Model usage summed over every repository."""
        total = Usage()
        for digest in self.digests:
            total = total + digest.usage
        return total
