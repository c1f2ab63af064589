"""Inbound de-duplication in the database: the first delivery wins, old rows are deleted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.storage.inbound_store import SqlInboundLog
from bot.storage.schema import InboundEventRow
from bot.storage.sql_store import SqlStore

NOON = datetime(2026, 2, 20, 12, tzinfo=UTC)


async def rows(store: SqlStore) -> int:
    async with store.engine.connect() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(InboundEventRow))).scalar_one()
        )


async def test_the_same_event_at_once_in_two_processes_is_new_only_once(store: SqlStore) -> None:
    one, two = SqlInboundLog(store.engine), SqlInboundLog(store.engine)
    firsts = await asyncio.gather(
        *(log.first_time("slack", "event:Ev1", NOON) for log in (one, two, one, two))
    )
    assert sorted(firsts) == [False, False, False, True]
    assert await one.first_time("telegram", "event:Ev1", NOON)  # another platform's key


async def test_events_older_than_the_retention_are_deleted(store: SqlStore) -> None:
    log = SqlInboundLog(store.engine, retention=timedelta(days=2))
    for n in range(50):
        assert await log.first_time("telegram", f"update:{n}", NOON)
    assert await rows(store) == 50
    later = NOON + timedelta(days=3)
    assert await log.first_time("telegram", "update:1000", later)
    assert await rows(store) == 1  # a table that stays small, however long the bot runs
