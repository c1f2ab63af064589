"""Weekly digests: the seven days before, from the daily analyses (no model call), posted once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.chat import ChatTarget, MessageRef, ThreadReplyEvent
from bot.days import DayWindow
from bot.delivery import ClaimState, NoReportLinks
from bot.models import Commit, Severity
from bot.storage.sql_store import SqlStore
from bot.subscriptions import Subscription
from bot.weekly import WeeklyPoster
from scheduler.clock import DailyClock
from tests.chat_fixtures import conversation, publisher
from tests.emulators.openai_api import OpenAIEmulator
from tests.emulators.slack_api import SlackEmulator
from tests.factories import ListSource, change, commit
from tests.simulated import SimClock
from tests.test_llm import Rig, model_config
from tests.test_slack_delivery import poster

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = [date(2026, 11, 16) + timedelta(days=n) for n in range(7)]  # Monday … Sunday
MONDAY = date(2026, 11, 23)  # the weekly slot: it posts the week before


def week_of_commits() -> list[Commit]:
    """Two commits a day (a feature the rules rate high, a docs page), none on Wednesday."""
    out = []
    for n, day in enumerate(WEEK):
        if n == 2:
            continue
        noon = datetime.combine(day, datetime.min.time(), BERLIN) + timedelta(hours=12)
        out.append(
            commit(
                f"feat(api): endpoint {n}",
                change(f"src/api/e{n}.py", 80),
                change(f"tests/test_e{n}.py", 20),
                sha=f"{n:02d}" + "f" * 38,
                when=noon.astimezone(UTC),
            )
        )
        out.append(
            commit(
                f"docs: page {n}",
                change(f"docs/p{n}.md", 5),
                sha=f"{n:02d}" + "d" * 38,
                when=(noon + timedelta(hours=1)).astimezone(UTC),
            )
        )
    return out


def weekly_subscription(**fields: object) -> Subscription:
    values: dict[str, object] = {
        "name": "team-weekly",
        "repos": ("acme/app",),
        "slack_channel": "CWEEK",
        "cadence": "weekly",
        "tz": "Europe/Berlin",
        "lowest_reply": "high",
        **fields,
    }
    return Subscription.model_validate(values)


def weekly_poster(
    store: SqlStore, rig: Rig, source: ListSource, slack: SlackEmulator
) -> WeeklyPoster:
    posters = {"slack": poster(slack)}
    return WeeklyPoster(rig.engine, publisher(store), lambda _s: source, posters, NoReportLinks())


@pytest.fixture
def openai_emu() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator() as emulator:
        yield emulator


@pytest.fixture
async def rig(store: SqlStore, openai_emu: OpenAIEmulator) -> AsyncIterator[Rig]:
    built = Rig(store, model_config(openai_emu))
    yield built
    await built.client.close()


async def test_a_week_posts_from_the_days_analyses_with_no_model_call_once(
    store: SqlStore, rig: Rig, openai_emu: OpenAIEmulator, slack: SlackEmulator
) -> None:
    source = ListSource("acme/app", week_of_commits())
    for day in WEEK:  # the daily posts analyzed each day as it came
        await rig.engine.build(source, DayWindow(day, "Europe/Berlin"), "en")
    calls = len(openai_emu.calls())
    assert calls > 0
    weekly = weekly_poster(store, rig, source, slack)
    results = await weekly.run(weekly_subscription(), MONDAY)
    assert len(openai_emu.calls()) == calls  # every analysis and overview came from the cache
    assert results[0].commits == 12 and results[0].outcome is not None
    root, *replies = slack.ours("CWEEK")
    summary = root.all_text()
    assert "acme/app* — week 2026-11-16 – 2026-11-22" in summary
    assert "Commits this week: 12" in summary
    lines = summary.splitlines()
    days = [line for line in lines if line.startswith(("Mon ", "Tue ", "Wed ", "Sun "))]
    assert days[0].startswith("Mon 2026-11-16: 2 · ")
    assert "Wed 2026-11-18: no commits" in days
    week = await weekly.days(weekly_subscription(), "acme/app", MONDAY)
    highs = [e for d in week for e in d.entries if e.analysis.severity is Severity.HIGH]
    assert highs and f"High-severity changes this week ({len(highs)})" in summary
    assert all(e.commit.short_sha in summary for e in highs)
    thread = slack.thread(root.ts)
    assert [m.ts for m in thread] == [m.ts for m in replies]
    first = "\n".join(m.all_text() for m in thread[: len(highs)])
    assert all(e.commit.short_sha in first for e in highs)  # the week's high changes first
    assert "low-severity changes" in thread[-1].all_text()  # the rest gathered after them
    again = await weekly.run(weekly_subscription(), MONDAY)
    assert again[0].outcome is not None and again[0].outcome.state is ClaimState.DONE
    assert len(slack.ours("CWEEK")) == 1 + len(replies)  # posted exactly once


async def test_a_refused_weekly_post_is_completed_by_the_clock_retries(
    store: SqlStore, rig: Rig, slack: SlackEmulator
) -> None:
    source = ListSource("acme/app", week_of_commits())
    weekly = weekly_poster(store, rig, source, slack)
    slack.not_in.add("CWEEK")
    attempts: list[date] = []
    subscription = weekly_subscription()

    async def run(s: Subscription, fired_on: date) -> list[object]:
        attempts.append(fired_on)
        if len(attempts) == 2:
            slack.not_in.clear()  # invited meanwhile
        return await weekly.run(s, fired_on)  # type: ignore[return-value]

    sim = SimClock()
    clock = DailyClock([subscription], run, now=sim.now, sleep=sim.sleep)  # type: ignore[arg-type]
    assert await clock.complete(subscription, MONDAY)
    assert attempts == [MONDAY, MONDAY]
    assert len([p for p in slack.ours("CWEEK") if p.thread_ts is None]) == 1


async def test_the_service_posts_a_weekly_subscription_as_a_week(
    database_url: str, slack: SlackEmulator
) -> None:
    from bot.config import load_settings
    from digestbot.service import open_service
    from digestbot.wiring import open_core
    from tests.emulators.github_api import GitHubEmulator

    with GitHubEmulator() as github:
        github.add_repo("acme/app", week_of_commits())
        env = {
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_API_URL": slack.api_url,
            "GITHUB_API_URL": github.url,
        }
        core = await open_core(load_settings(env), "rules")
        service = await open_service(core, (weekly_subscription(),))
        try:
            results = await service.post(weekly_subscription(), MONDAY)
        finally:
            await service.close()
    assert results[0].commits == 12
    root = next(p for p in slack.ours("CWEEK") if p.thread_ts is None)
    assert "acme/app* — week 2026-11-16 – 2026-11-22" in root.all_text()


async def test_a_question_in_a_weekly_thread_about_an_earlier_day_gets_that_commit(
    store: SqlStore, rig: Rig, slack: SlackEmulator
) -> None:
    source = ListSource("acme/app", week_of_commits())
    for day in WEEK:
        await rig.engine.build(source, DayWindow(day, "Europe/Berlin"), "en")
    await weekly_poster(store, rig, source, slack).run(weekly_subscription(), MONDAY)
    root = slack.ours("CWEEK")[0]
    target = ChatTarget("slack", "CWEEK")
    asked = ThreadReplyEvent(target, "U1", "why is 01fffff risky?", MessageRef(target, root.ts))
    talk = conversation(store, week_of_commits())
    assert await talk.on_thread_reply(asked, poster(slack))
    answer = slack.ours("CWEEK")[-1].all_text()
    assert "endpoint 1" in answer  # Tuesday's commit, not only the week's last day
