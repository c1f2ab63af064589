"""What processes sharing one database coordinate through: leases and token buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, Float, String, case, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.schema import Base


class LeaseRow(Base):
    """A lock on `key` held by `owner` until `expires_at` (renewed while the owner works)."""

    __tablename__ = "leases"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    owner: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BudgetRow(Base):
    """A rate budget as GCRA keeps it: the theoretical arrival time of the next request."""

    __tablename__ = "budgets"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    tat: Mapped[float] = mapped_column(Float)  # epoch seconds


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


class SqlLeaseLocks:
    """Implements bot.builds.LeaseLocks on SQLite or PostgreSQL (one row per held lock).

    A row, not a PostgreSQL advisory lock: it holds no connection while a build runs for
    minutes (pool size, PgBouncer's transaction pooling), works the same on SQLite, and a
    dead holder is recognised by its expired lease rather than by a dropped connection.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def acquire(self, key: str, owner: str, now: datetime, lease: timedelta) -> bool:
        """Take the lock when nobody holds it or its holder's lease ran out."""
        expires = _utc(now + lease)
        async with self._sessions() as session:
            session.add(LeaseRow(key=key, owner=owner, expires_at=expires))
            try:
                await session.commit()
                return True
            except IntegrityError:
                await session.rollback()
            # One statement: of two processes taking over the same expired lease, one wins.
            taken = await session.execute(
                update(LeaseRow)
                .where(LeaseRow.key == key, LeaseRow.expires_at < _utc(now))
                .values(owner=owner, expires_at=expires)
            )
            await session.commit()
            return bool(taken.rowcount == 1)  # type: ignore[attr-defined]

    async def renew(self, key: str, owner: str, now: datetime, lease: timedelta) -> bool:
        """Extend our lease; False when the lock is no longer ours."""
        async with self._sessions() as session:
            renewed = await session.execute(
                update(LeaseRow)
                .where(LeaseRow.key == key, LeaseRow.owner == owner)
                .values(expires_at=_utc(now + lease))
            )
            await session.commit()
            return bool(renewed.rowcount == 1)  # type: ignore[attr-defined]

    async def release(self, key: str, owner: str) -> None:
        """Drop the lock if it is still ours."""
        async with self._sessions() as session:
            await session.execute(
                delete(LeaseRow).where(LeaseRow.key == key, LeaseRow.owner == owner)
            )
            await session.commit()


class SqlTokenBuckets:
    """Implements bot.limits.TokenBucket with GCRA: one reserving UPDATE per request.

    Each request moves the bucket's theoretical arrival time on by `tokens / rate` and waits
    until that time less the burst allowance: no polling, so hundreds of waiting requests
    cost one statement each, not one a poll.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def take(self, name: str, tokens: float, rate: float, burst: float, now: float) -> float:
        """Reserve `tokens`; the seconds to wait before using them (0.0 within the burst)."""
        cost = tokens / rate
        start = case((BudgetRow.tat > now, BudgetRow.tat), else_=now)
        reserve = (
            update(BudgetRow)
            .where(BudgetRow.name == name)
            .values(tat=start + cost)
            .returning(BudgetRow.tat)
        )
        async with self._sessions() as session:
            tat = (await session.execute(reserve)).scalar_one_or_none()
            if tat is None:  # first use: a full bucket
                tat = now + cost
                session.add(BudgetRow(name=name, tat=tat))
            try:
                await session.commit()
            except IntegrityError:  # another process created it first: reserve again
                return await self.take(name, tokens, rate, burst, now)
        return max(0.0, float(tat) - burst / rate - now)
