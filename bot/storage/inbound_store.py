"""The inbound-event log in SQL: one row per event handled, old rows deleted as it goes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.inbound import INBOUND_RETENTION
from bot.storage.schema import InboundEventRow

_PRUNE_EVERY = timedelta(minutes=10)


class SqlInboundLog:
    """Implements bot.inbound.InboundLog: the primary key makes the first insert win."""

    def __init__(self, engine: AsyncEngine, retention: timedelta = INBOUND_RETENTION) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._retention = retention
        self._pruned: datetime | None = None

    async def first_time(self, platform: str, key: str, now: datetime) -> bool:
        """Insert the event; a key already there (another process, a retry) is not new."""
        now = now.astimezone(UTC)
        await self._prune(now)
        async with self._sessions() as session:
            session.add(InboundEventRow(platform=platform, key=key[:200], seen_at=now))
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                return False
        return True

    async def forget(self, platform: str, key: str) -> None:
        """Delete the event's row (its handling failed: a retry must run)."""
        async with self._sessions() as session:
            await session.execute(
                delete(InboundEventRow).where(
                    InboundEventRow.platform == platform, InboundEventRow.key == key[:200]
                )
            )
            await session.commit()

    async def _prune(self, now: datetime) -> None:
        if self._pruned is not None and now - self._pruned < _PRUNE_EVERY:
            return
        self._pruned = now
        async with self._sessions() as session:
            await session.execute(
                delete(InboundEventRow).where(InboundEventRow.seen_at < now - self._retention)
            )
            await session.commit()
