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
_RELEASED = ""  # the owner of a post its last owner let go of: anyone may resume it


def _utc(moment: datetime) -> datetime:
    # SQLite hands datetimes back naive; they were written in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class SqlDeliveryLog:
    """Implements bot.delivery.DeliveryLog on SQLite or PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def claim(self, key: str, owner: str, now: datetime, lease: timedelta) -> Claim:
        """Insert a new claim, or take over one that is ours, released, or gone silent."""
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
            expires = _utc(row.heartbeat) + lease
            if row.owner not in (owner, _RELEASED) and expires > now:
                return Claim(ClaimState.BUSY, busy_until=expires)
            taken = await session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.key == key, DeliveryRow.version == row.version)
                .values(owner=owner, heartbeat=now, version=row.version + 1)
            )
            await session.commit()
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return Claim(ClaimState.BUSY, busy_until=now + lease)
        posted, intended = await self._parts(key)
        return Claim(ClaimState.RESUMED, posted, intended)

    async def _parts(self, key: str) -> tuple[dict[int, str], dict[int, datetime]]:
        query = select(DeliveredPartRow).where(DeliveredPartRow.key == key)
        async with self._sessions() as session:
            rows = (await session.execute(query)).scalars().all()
        posted = {r.idx: r.message_id for r in rows}
        return posted, {r.idx: _utc(r.intended_at) for r in rows if r.intended_at is not None}

    async def intend(self, key: str, owner: str, index: int, now: datetime) -> None:
        """Note a part as about to be sent (UNCERTAIN) and when, refreshing the lease."""
        await self._write(key, owner, index, UNCERTAIN, now, intended=True)

    async def record(
        self, key: str, owner: str, index: int, message_id: str, now: datetime
    ) -> None:
        """Note a sent message and refresh the lease, in one transaction."""
        await self._write(key, owner, index, message_id, now, intended=False)

    async def _write(
        self, key: str, owner: str, index: int, message_id: str, now: datetime, *, intended: bool
    ) -> None:
        async with self._sessions() as session:
            alive = await session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.key == key, DeliveryRow.owner == owner)
                .values(heartbeat=_utc(now))
            )
            if alive.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()
                raise LostClaim(f"post {key} was taken over by another process")
            row = await session.get(DeliveredPartRow, (key, index))
            if row is None:
                row = DeliveredPartRow(key=key, idx=index, message_id=message_id)
                session.add(row)
            row.message_id = message_id
            if intended or row.intended_at is None:
                row.intended_at = _utc(now)
            await session.commit()

    async def renew(self, key: str, owner: str, now: datetime) -> bool:
        """Refresh the lease of a post we still own and have not finished."""
        async with self._sessions() as session:
            alive = await session.execute(
                update(DeliveryRow)
                .where(
                    DeliveryRow.key == key,
                    DeliveryRow.owner == owner,
                    DeliveryRow.state == _POSTING,
                )
                .values(heartbeat=_utc(now))
            )
            await session.commit()
        return bool(alive.rowcount == 1)  # type: ignore[attr-defined]

    async def release(self, key: str, owner: str) -> None:
        """Let go of an unfinished post of ours; the next claim resumes it without waiting."""
        async with self._sessions() as session:
            await session.execute(
                update(DeliveryRow)
                .where(
                    DeliveryRow.key == key,
                    DeliveryRow.owner == owner,
                    DeliveryRow.state == _POSTING,
                )
                .values(owner=_RELEASED)
            )
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
