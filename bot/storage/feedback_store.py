"""Votes in SQL: the primary key (platform, person, repository, commit) makes a press count once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.feedback import DOWN, UP, Tally, Vote, VoteChange
from bot.storage.team_schema import VoteRow


class SqlVoteStore:
    """Implements bot.feedback.VoteStore."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def vote(self, vote: Vote, now: datetime) -> VoteChange:
        """Insert the vote; when one exists, change it only if it differs."""
        key, value = (vote.platform, vote.user, vote.repo, vote.sha), vote.value
        async with self._sessions() as session:
            session.add(
                VoteRow(
                    platform=vote.platform,
                    user_id=vote.user,
                    repo=vote.repo,
                    sha=vote.sha,
                    vote=value,
                    voted_at=now.astimezone(UTC),
                )
            )
            try:
                await session.commit()
                return VoteChange.NEW
            except IntegrityError:  # a vote exists (or a double press raced us to it)
                await session.rollback()
            row = await session.get(VoteRow, key)
            if row is None or row.vote == value:
                return VoteChange.SAME
            row.vote, row.voted_at = value, now.astimezone(UTC)
            await session.commit()
        return VoteChange.CHANGED

    async def counts(self, repo: str, shas: Sequence[str]) -> dict[str, Tally]:
        """The tallies of some commits of a repository."""
        if not shas:
            return {}
        return await self._tallies(repo, VoteRow.sha.in_(list(shas)))

    async def disputed(self, repo: str) -> dict[str, Tally]:
        """The tallies of commits with at least one 👎."""
        tallies = await self._tallies(repo, VoteRow.repo == repo)
        return {sha: t for sha, t in tallies.items() if t.down}

    async def _tallies(self, repo: str, where: object) -> dict[str, Tally]:
        up = func.sum(case((VoteRow.vote == UP, 1), else_=0))
        down = func.sum(case((VoteRow.vote == DOWN, 1), else_=0))
        query = (
            select(VoteRow.sha, up, down)
            .where(VoteRow.repo == repo, where)  # type: ignore[arg-type]
            .group_by(VoteRow.sha)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return {sha: Tally(int(u or 0), int(d or 0)) for sha, u, d in rows}
