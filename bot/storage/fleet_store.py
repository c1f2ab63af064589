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
    """A token bucket: `tokens` left when last refilled at `refreshed` (epoch seconds)."""

    __tablename__ = "budgets"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    refreshed: Mapped[float] = mapped_column(Float)


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
    """Implements bot.limits.TokenBucket: one row per bucket, refilled and taken in one UPDATE."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def take(self, name: str, tokens: float, rate: float, burst: float, now: float) -> float:
        """Take `tokens` when the refilled level allows: 0.0; else the seconds to wait."""
        # A clock behind the last refill (another machine's) refills nothing rather than less.
        elapsed = case((BudgetRow.refreshed < now, now - BudgetRow.refreshed), else_=0.0)
        refilled = BudgetRow.tokens + elapsed * rate
        level = case((refilled > burst, burst), else_=refilled)
        async with self._sessions() as session:
            taken = await session.execute(
                update(BudgetRow)
                .where(BudgetRow.name == name, level >= tokens)
                .values(tokens=level - tokens, refreshed=now)
            )
            await session.commit()
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return 0.0
            row = await session.get(BudgetRow, name)
            if row is None:  # first use: the bucket starts full
                session.add(BudgetRow(name=name, tokens=burst - tokens, refreshed=now))
                try:
                    await session.commit()
                    return 0.0
                except IntegrityError:  # another process created it first: ask again
                    return 0.001
            available = min(burst, row.tokens + max(0.0, now - row.refreshed) * rate)
            return max((tokens - available) / rate, 0.001)
