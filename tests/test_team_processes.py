"""Across processes: a real `digestbot web` takes `/digest subscribe` from Slack, and a clock
in another process (this test, its own engine on the same database) schedules it by its poll."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.chat import ChatTarget
from bot.daily import DailyResult
from bot.storage.database import create_engine
from bot.storage.team_store import SqlSubscriptionStore
from bot.subscriptions import Subscription
from bot.team import chat_name
from scheduler.clock import DailyClock
from scheduler.live import LiveSchedule
from tests.emulators.github_api import GitHubEmulator
from tests.emulators.slack_api import BOT_USER, SlackEmulator
from tests.served import clean_env, served
from tests.team_fixtures import days_of_commits
from tests.test_slack import command_body, signed
from tests.waiting import until

CHANNEL = "C0DIGEST"
SECRET = "process-signing-secret"


@pytest.fixture
def github() -> Iterator[GitHubEmulator]:
    with GitHubEmulator() as emulator:
        emulator.add_repo("acme/app", days_of_commits(date(2026, 11, 24), 2))
        yield emulator


def post_command(base: str, text: str, user: str) -> int:
    body = command_body(text, user=user, trigger=f"T-{time.monotonic_ns()}")
    headers = {"Content-Type": "application/x-www-form-urlencoded", **signed(body, SECRET)}
    request = urllib.request.Request(
        f"{base}/slack/events", data=body.encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return int(answer.status)


async def test_the_web_process_subscribes_and_the_clock_process_schedules_it(
    tmp_path: Path, database_url: str, slack: SlackEmulator, github: GitHubEmulator
) -> None:
    slack.members[CHANNEL] = ["U1", BOT_USER]
    env = clean_env(
        SLACK_BOT_TOKEN=slack.token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.api_url,
        GITHUB_API_URL=github.url,
    )

    async def run(subscription: Subscription, fired_on: date) -> list[DailyResult]:
        return []

    engine = create_engine(database_url)  # the clock process's own connection
    clock = DailyClock([], run)
    live = LiveSchedule(SqlSubscriptionStore(engine), clock)
    try:
        await live.poll()
        with served("web", env, database_url, tmp_path) as web:
            said = "subscribe acme/app at 09:00 tz Europe/Berlin"
            assert await asyncio.to_thread(post_command, web.base, said, "U1") == 200
            await until(lambda: any("Subscribed" in p.all_text() for p in slack.posted))
        await live.poll()
        name = chat_name(ChatTarget("slack", CHANNEL), "acme/app")
        job = clock.scheduler().get_job(name)
        assert job is not None
        now = datetime.now(UTC)
        fire = job.trigger.get_next_fire_time(None, now)
        local = fire.astimezone(ZoneInfo("Europe/Berlin"))
        assert (local.hour, local.minute) == (9, 0) and fire > now
    finally:
        await engine.dispose()
    public = [p.all_text() for p in slack.posted if p.user is None]
    assert public[-1].startswith("Subscribed this chat to acme/app: daily at 09:00 Europe/Berlin")
