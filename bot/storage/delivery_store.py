"""The delivery log in SQL: claims with leases, and the messages sent under each claim."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.delivery import UNCERTAIN, Claim, ClaimState
from bot.errors import LostClaim
from bot.storage.schema import DeliveredPartRow, DeliveryRow

_POSTING, _DONE = "posting", "done"


def _utc(moment: datetime) -> datetime:
    # SQLite hands datetimes back naive; they were written in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class SqlDeliveryLog:
    """Implements bot.delivery.DeliveryLog on SQLite or PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def claim(self, key: str, owner: str, now: datetime, lease: timedelta) -> Claim:
        """Insert a new claim, or take over one whose owner is us or went silent."""
        now = _utc(now)
        async with self._sessions() as session:
            session.add(DeliveryRow(key=key, owner=owner, state=_POSTING, heartbeat=now, version=0))
            try:
                await session.commit()
                return Claim(ClaimState.NEW)
            except IntegrityError:
                await session.rollback()
            row = await session.get(DeliveryRow, key)
            assert row is not None  # the insert just collided with it, and claims are never deleted
            if row.state == _DONE:
                return Claim(ClaimState.DONE)
            if row.owner != owner and _utc(row.heartbeat) > now - lease:
                return Claim(ClaimState.BUSY)
            taken = await session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.key == key, DeliveryRow.version == row.version)
                .values(owner=owner, heartbeat=now, version=row.version + 1)
            )
            await session.commit()
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return Claim(ClaimState.BUSY)
            return Claim(ClaimState.RESUMED, await self._posted(key))

    async def _posted(self, key: str) -> dict[int, str]:
        query = select(DeliveredPartRow).where(DeliveredPartRow.key == key)
        async with self._sessions() as session:
            rows = (await session.execute(query)).scalars().all()
        return {r.idx: r.message_id for r in rows}

    async def intend(self, key: str, owner: str, index: int, now: datetime) -> None:
        """Note a part as about to be sent (UNCERTAIN), refreshing the lease."""
        await self.record(key, owner, index, UNCERTAIN, now)

    async def record(
        self, key: str, owner: str, index: int, message_id: str, now: datetime
    ) -> None:
        """Note a sent message (or UNCERTAIN) and refresh the lease, in one transaction."""
        async with self._sessions() as session:
            alive = await session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.key == key, DeliveryRow.owner == owner)
                .values(heartbeat=_utc(now))
            )
            if alive.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()
                raise LostClaim(f"post {key} was taken over by another process")
            await session.merge(DeliveredPartRow(key=key, idx=index, message_id=message_id))
            await session.commit()

    async def finish(self, key: str, owner: str, now: datetime) -> None:
        """Mark the post done; later claims see DONE."""
        async with self._sessions() as session:
            await session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.key == key, DeliveryRow.owner == owner)
                .values(state=_DONE, heartbeat=_utc(now))
            )
            await session.commit()
