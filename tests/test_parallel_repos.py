"""Several repositories at once: bounded, in order, one GitHub budget for every source."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from functools import partial

import pytest

from adapters.pacing import Pacer
from adapters.slack.app import SlackPoster, slack_client
from bot.config import load_settings
from bot.daily import DailyPoster
from bot.days import DayWindow
from bot.fanout import in_order
from bot.models import Commit
from bot.ports import FetchProgress
from bot.sources.github import GitHubSource
from bot.sources.request_gate import GITHUB_CONCURRENCY, RequestGate
from bot.storage.sql_store import SqlStore
from bot.subscriptions import Subscription
from digestbot.wiring import open_core
from tests.chat_fixtures import engine_for, hostile_day, publisher
from tests.emulators.github_api import GitHubEmulator
from tests.emulators.loopback import Fault, Request, Response
from tests.emulators.slack_api import SlackEmulator
from tests.factories import ListSource
from tests.test_github_source import DAY, day_commits


class Running:
    """Counts calls in progress and the most at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0

    async def around(self, result: int) -> int:
        self.now += 1
        self.most = max(self.most, self.now)
        for _ in range(3):  # hand the loop to the other calls (no time passes)
            await asyncio.sleep(0)
        self.now -= 1
        return result


async def test_calls_run_a_few_at_once_and_come_back_in_order() -> None:
    running = Running()
    calls: list[Callable[[], Awaitable[int]]] = [partial(running.around, i) for i in range(7)]
    assert [r async for r in in_order(calls, limit=3)] == list(range(7))
    assert running.most == 3


async def test_a_failure_stops_the_calls_still_running() -> None:
    never = asyncio.Event()
    stopped: list[str] = []

    async def fails() -> int:
        raise RuntimeError("the source is gone")

    async def waits() -> int:
        try:
            await never.wait()
        except asyncio.CancelledError:
            stopped.append("cancelled")
            raise
        return 1

    with pytest.raises(RuntimeError, match="the source is gone"):
        _ = [r async for r in in_order([fails, waits])]
    assert stopped == ["cancelled"]


class CountedSource(ListSource):
    """A repository whose reads are counted while they run."""

    def __init__(self, name: str, commits: list[Commit], running: Running) -> None:
        super().__init__(name, [replace(c, repo=name) for c in commits])
        self._running = running

    async def commits(
        self, window: DayWindow, progress: FetchProgress | None = None
    ) -> list[Commit]:
        await self._running.around(0)
        return await super().commits(window, progress)


async def test_a_subscription_builds_its_repositories_at_once_and_posts_them_in_order(
    store: SqlStore,
) -> None:
    running = Running()
    names = ("acme/one", "acme/two", "acme/three")
    sources = {n: CountedSource(n, hostile_day(4), running) for n in names}
    subscription = Subscription.model_validate(
        {"name": "daily", "repos": names, "slack_channel": "C1"}
    )
    with SlackEmulator() as slack:
        poster = SlackPoster(slack_client(slack.token, slack.api_url), Pacer([]))
        daily = DailyPoster(
            engine_for(store), publisher(store), sources.__getitem__, {"slack": poster}
        )
        results = await daily.run(subscription, date(2026, 2, 20))
        roots = [p.all_text() for p in slack.posted if p.thread_ts is None]
    assert [r.repo for r in results] == list(names)
    assert [text.split(" — ")[0].strip("*") for text in roots] == list(names)
    assert running.most == 3


class CountingGitHub(GitHubEmulator):
    """Counts requests in flight; each takes a little while to answer, as a real API's do."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.most = 0
        self._count = threading.Lock()

    def handle(self, request: Request) -> Response:
        with self._count:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            time.sleep(0.02)  # the emulated API's latency, so answers overlap
            return super().handle(request)
        finally:
            with self._count:
                self.in_flight -= 1


async def test_every_github_source_shares_one_request_budget(store: SqlStore) -> None:
    github = CountingGitHub()
    github.start()
    try:
        names = [f"acme/r{i}" for i in range(3)]
        for name in names:
            github.add_repo(name, [replace(c, repo=name) for c in day_commits(6)])
        gate = RequestGate(2)
        sources = [GitHubSource(n, store, base_url=github.url, gate=gate) for n in names]
        days = await asyncio.gather(*(s.commits(DAY) for s in sources))
    finally:
        github.stop()
    assert [len(d) for d in days] == [6, 6, 6]
    assert github.most <= 2  # three repositories, four fetches each allowed, two in flight


async def test_the_sources_of_one_process_share_its_github_budget(database_url: str) -> None:
    github = CountingGitHub()
    github.start()
    names = [f"acme/r{i}" for i in range(6)]  # 6 x 4 fetches allowed per source: 24 > 8
    for name in names:
        github.add_repo(name, [replace(c, repo=name) for c in day_commits(12)])
    settings = load_settings({"DATABASE_URL": database_url, "GITHUB_API_URL": github.url})
    core = await open_core(settings, "rules")
    try:
        days = await asyncio.gather(*(core.source(n).commits(DAY) for n in names))
    finally:
        await core.close()
        github.stop()
    assert [len(d) for d in days] == [12] * 6
    assert github.most <= GITHUB_CONCURRENCY


async def test_a_rate_limit_seen_by_one_source_holds_every_source(
    github: GitHubEmulator, store: SqlStore
) -> None:
    for name in ("acme/a", "acme/b"):
        github.add_repo(name, day_commits(1))
    github.fail(Fault(429, {"message": "slow down"}, {"Retry-After": "30"}, path_contains="acme/a"))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # no time passes; b asks while a waits
        waits.append(seconds)
        if len(waits) == 1:
            assert await b.repo_name() == "acme/b"

    gate = RequestGate(2, clock=lambda: 0.0, sleep=sleep)
    a = GitHubSource("acme/a", store, base_url=github.url, gate=gate)
    b = GitHubSource("acme/b", store, base_url=github.url, gate=gate)
    assert await a.repo_name() == "acme/a"
    # a waited out GitHub's 30 s, and b's first request waited with it
    assert waits == [30.0, 30.0]
    asked = [r.path for r in github.requests]
    assert asked == ["/repos/acme/a", "/repos/acme/b", "/repos/acme/a"]
