"""Fleet-wide limits: model calls in flight and GitHub requests, shared through the database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bot.limits import SharedBudget, SharedSlots, SlotLimitedModel
from bot.models import Usage
from bot.ports import ModelReply
from bot.sources.github import GitHubSource
from bot.sources.request_gate import RequestGate
from bot.storage.fleet_store import SqlLeaseLocks, SqlTokenBuckets
from bot.storage.sql_store import SqlStore
from tests.emulators.github_api import GitHubEmulator
from tests.test_github_source import DAY, day_commits

LEASE = timedelta(minutes=5)


class CountingModel:
    """A model client that records how many calls are in flight at once."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0

    @property
    def unreachable(self) -> bool:
        return False

    async def json_call(
        self, system: str, user: str, name: str, schema: dict[str, Any], max_tokens: int
    ) -> ModelReply:
        return await self.text_call(system, user, max_tokens)

    async def text_call(self, system: str, user: str, max_tokens: int) -> ModelReply:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0)  # let the others run: they must not get in
        self.in_flight -= 1
        return ModelReply(content="ok", finish_reason="stop", usage=Usage(calls=1))


async def test_model_calls_of_several_processes_share_the_fleets_slots(store: SqlStore) -> None:
    locks = SqlLeaseLocks(store.engine)
    processes = [
        SharedSlots(locks, "model", 2, lease=LEASE, process=f"worker{i}") for i in range(3)
    ]
    first, second = processes[0].hold(), processes[1].hold()
    await first.__aenter__()
    await second.__aenter__()
    model = CountingModel()
    third = asyncio.create_task(SlotLimitedModel(model, processes[2]).text_call("s", "u", 10))
    now = datetime.now(UTC)
    keys = ["slot:model:0", "slot:model:1"]
    assert [await locks.acquire(k, "probe:1", now, LEASE) for k in keys] == [False, False]
    assert not third.done()  # both slots are held elsewhere
    await first.__aexit__(None, None, None)
    assert (await third).content == "ok"  # it got the freed slot
    await second.__aexit__(None, None, None)
    calls = [SlotLimitedModel(model, p).text_call("s", "u", 10) for p in processes * 3]
    await asyncio.gather(*calls)
    assert model.peak <= 2


async def test_the_budget_is_one_bucket_for_every_process(store: SqlStore) -> None:
    buckets = SqlTokenBuckets(store.engine)
    # 60 a minute: one a second, bursts of 6; two processes, one bucket.
    assert [await buckets.take("github", 1, 1.0, 6, now=100.0) for _ in range(3)] == [0.0] * 3
    assert [await buckets.take("github", 1, 1.0, 6, now=100.0) for _ in range(3)] == [0.0] * 3
    assert await buckets.take("github", 1, 1.0, 6, now=100.0) == 1.0  # the next turn: 1 s on
    assert await buckets.take("github", 1, 1.0, 6, now=100.0) == 2.0  # turns queue up
    assert await buckets.take("github", 1, 1.0, 6, now=108.0) == 0.0  # the burst came back
    assert await buckets.take("github", 1, 1.0, 6, now=99.0) > 0  # a clock behind gains nothing


async def test_every_github_request_spends_from_the_shared_budget(
    github: GitHubEmulator, store: SqlStore
) -> None:
    github.add_repo("acme/app", day_commits(5))
    budget = SharedBudget(SqlTokenBuckets(store.engine), "github", 600, clock=lambda: 1000.0)
    gate = RequestGate(budget=budget)
    source = GitHubSource("acme/app", store, base_url=github.url, gate=gate)
    commits = await source.commits(DAY)
    async with store.engine.connect() as conn:
        next_turn = (await conn.execute(text("SELECT tat FROM budgets"))).scalar_one()
    assert len(commits) == 5
    assert len(github.requests) == 7  # the repository, the list, five commits
    assert next_turn == pytest.approx(1000.0 + 7 / 10)  # 600 a minute: 0.1 s per request seen
