"""Votes on analyses (👍/👎 per person and commit) and the severity disagreements they reveal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Protocol

from bot.document import anchor_of
from bot.models import DigestSummary, RepoDigest, Severity

UP, DOWN = 1, -1


class VoteChange(Enum):
    """What a press did: counted, nothing (the same vote again), or turned around."""

    NEW = "new"
    SAME = "same"
    CHANGED = "changed"


@dataclass(frozen=True)
class Vote:
    """One person's press of 👍 (UP) or 👎 (DOWN) on one commit's analysis."""

    platform: str
    user: str
    repo: str
    sha: str
    value: int


@dataclass(frozen=True)
class Tally:
    """How many people agree (👍) and disagree (👎) with one commit's analysis."""

    up: int = 0
    down: int = 0


class VoteStore(Protocol):
    """Votes in the database, one per (platform, person, repository, commit)."""

    async def vote(self, vote: Vote, now: datetime) -> VoteChange:
        """Record a vote; pressing the same button twice counts once."""
        ...

    async def counts(self, repo: str, shas: Sequence[str]) -> dict[str, Tally]:
        """The tallies of some commits (those without votes are left out)."""
        ...

    async def disputed(self, repo: str) -> dict[str, Tally]:
        """The tallies of a repository's commits with at least one 👎."""
        ...


@dataclass(frozen=True)
class Disagreement:
    """A commit people disagreed with: what the analysis said, on which page, and the votes.

    It keeps the page's identity and the entry's anchor, not the digest: a repository's
    disagreements page reads its days one at a time.
    """

    sha: str
    title: str
    severity: Severity
    page: DigestSummary
    anchor: str
    tally: Tally

    @property
    def day(self) -> date:
        """The day whose digest shows the commit."""
        return self.page.day


def add_disagreements(
    found: dict[str, Disagreement], digest: RepoDigest, disputed: dict[str, Tally]
) -> None:
    """Add the digest's disputed commits not found yet (digests come newest first)."""
    page = digest.summary()
    for entry in digest.entries:
        sha = entry.commit.sha
        if sha in disputed and sha not in found:
            found[sha] = Disagreement(
                sha,
                entry.commit.title,
                entry.analysis.severity,
                page,
                anchor_of(entry),
                disputed[sha],
            )


def most_disputed(found: dict[str, Disagreement]) -> list[Disagreement]:
    """The disagreements, most disputed first."""
    return sorted(found.values(), key=lambda d: (d.tally.up - d.tally.down, -d.tally.down))
