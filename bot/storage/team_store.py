"""Chat subscriptions in SQL; each change bumps the revision row in the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.chat import ChatTarget
from bot.storage.team_schema import ChatSubscriptionRow, SubscriptionRevisionRow
from bot.subscriptions import Subscription
from bot.team import GITHUB, ChatSubscription, destination


def _utc(moment: datetime) -> datetime:
    # SQLite hands datetimes back naive; they were written in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _subscription(row: ChatSubscriptionRow) -> Subscription:
    target = ChatTarget(row.platform, row.channel, row.topic or None)
    return Subscription.model_validate(
        {
            "name": row.name,
            "repos": (GITHUB + row.repo,),
            **destination(target),
            "time": row.time,
            "tz": row.tz,
            "days": tuple(row.days.split(",")),
            "language": row.language,
            "cadence": row.cadence,
        }
    )


def _item(row: ChatSubscriptionRow) -> ChatSubscription:
    return ChatSubscription(
        _subscription(row), row.repo, row.created_by, _utc(row.created_at), _utc(row.updated_at)
    )


def _row(item: ChatSubscription) -> ChatSubscriptionRow:
    s, target = item.subscription, item.subscription.target
    return ChatSubscriptionRow(
        name=s.name,
        platform=target.platform,
        channel=target.channel,
        topic=target.topic or "",
        repo=item.repo,
        cadence=s.cadence,
        time=s.time,
        tz=s.tz,
        days=",".join(s.days),
        language=s.language,
        created_by=item.created_by,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


class SqlSubscriptionStore:
    """Implements bot.team.SubscriptionStore on SQLite or PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def revision(self) -> int:
        """The revision number: one primary-key read, cheap enough to poll."""
        async with self._sessions() as session:
            row = await session.get(SubscriptionRevisionRow, 1)
        return row.revision if row is not None else 0

    async def chat_subscriptions(self, target: ChatTarget | None = None) -> list[ChatSubscription]:
        """The subscriptions made in one chat (and topic), or in every chat, by name."""
        query = select(ChatSubscriptionRow).order_by(ChatSubscriptionRow.name)
        if target is not None:
            query = query.where(
                ChatSubscriptionRow.platform == target.platform,
                ChatSubscriptionRow.channel == target.channel,
                ChatSubscriptionRow.topic == (target.topic or ""),
            )
        async with self._sessions() as session:
            rows = (await session.execute(query)).scalars().all()
        return [_item(r) for r in rows]

    async def get(self, name: str) -> ChatSubscription | None:
        """One subscription by name."""
        async with self._sessions() as session:
            row = await session.get(ChatSubscriptionRow, name)
        return _item(row) if row is not None else None

    async def save(self, item: ChatSubscription) -> None:
        """Insert or replace by name, and bump the revision, in one transaction."""
        async with self._sessions() as session:
            await session.merge(_row(item))
            await _bump(session)
            await session.commit()

    async def remove(self, name: str) -> bool:
        """Delete by name and bump the revision; False when there was nothing to delete."""
        async with self._sessions() as session:
            gone = await session.execute(
                delete(ChatSubscriptionRow).where(ChatSubscriptionRow.name == name)
            )
            if gone.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()
                return False
            await _bump(session)
            await session.commit()
        return True


async def _bump(session: AsyncSession) -> None:
    """The row exists from the migration; an UPDATE also serializes concurrent writers."""
    await session.execute(
        update(SubscriptionRevisionRow)
        .where(SubscriptionRevisionRow.id == 1)
        .values(revision=SubscriptionRevisionRow.revision + 1)
    )
