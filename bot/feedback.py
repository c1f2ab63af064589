"""Votes on analyses (👍/👎 per person and commit) and the severity disagreements they reveal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Protocol

from bot.models import RepoDigest, Severity

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
    """A commit people disagreed with: what the analysis said, where, and the votes."""

    sha: str
    title: str
    severity: Severity
    day: date
    digest: RepoDigest
    tally: Tally


def disagreements(digests: Sequence[RepoDigest], disputed: dict[str, Tally]) -> list[Disagreement]:
    """Disputed commits found in the digests (newest first), most disputed first."""
    found: dict[str, Disagreement] = {}
    for digest in digests:
        for entry in digest.entries:
            sha = entry.commit.sha
            if sha in disputed and sha not in found:
                found[sha] = Disagreement(
                    sha,
                    entry.commit.title,
                    entry.analysis.severity,
                    digest.day,
                    digest,
                    disputed[sha],
                )
    return sorted(found.values(), key=lambda d: (d.tally.up - d.tally.down, -d.tally.down))
