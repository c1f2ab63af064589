"""Daily posts: schedules in zones and across DST, catch-up, double firing, crash and resume."""

from __future__ import annotations

import asyncio
import logging
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telegram import Bot

from adapters.pacing import Pacer
from adapters.slack.app import SlackPoster, slack_client
from adapters.telegram.app import TelegramPoster
from bot.chat import ChatPoster
from bot.daily import DailyPoster, DailyResult
from bot.delivery import ClaimState
from bot.errors import ConfigError
from bot.storage.sql_store import SqlStore
from bot.subscriptions import Subscription, load_subscriptions
from scheduler.clock import Backoff, DailyClock, build_scheduler, catch_up, trigger_for
from tests.chat_fixtures import engine_for, hostile_day, later, publisher
from tests.emulators.loopback import Fault
from tests.emulators.slack_api import SlackEmulator
from tests.emulators.telegram_api import TelegramEmulator
from tests.factories import ListSource
from tests.simulated import SimClock

UTC_ZONE = ZoneInfo("UTC")


def sub(**fields: object) -> Subscription:
    base: dict[str, object] = {"name": "daily", "repos": ("acme/app",), "slack_channel": "C1"}
    return Subscription.model_validate({**base, **fields})


def fires(subscription: Subscription, start: datetime, count: int) -> list[datetime]:
    trigger = trigger_for(subscription)
    out: list[datetime] = []
    previous = None
    now = start
    while len(out) < count:
        moment = trigger.get_next_fire_time(previous, now)
        assert moment is not None
        out.append(moment.astimezone(UTC))
        previous, now = moment, moment + timedelta(seconds=1)
    return out


def test_each_subscription_fires_in_its_own_zone() -> None:
    start = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
    paris = fires(sub(tz="Europe/Paris"), start, 1)[0]
    tokyo = fires(sub(tz="Asia/Tokyo"), start, 1)[0]
    new_york = fires(sub(tz="America/New_York"), start, 1)[0]
    assert paris == datetime(2026, 6, 1, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert tokyo == datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # 09:00 JST
    assert new_york == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)  # 09:00 EDT


def test_the_local_time_holds_across_daylight_saving_changes() -> None:
    spring = fires(sub(tz="Europe/Paris"), datetime(2026, 3, 28, 0, 0, tzinfo=UTC), 3)
    assert [t.hour for t in spring] == [8, 7, 7]  # 09:00 CET, then 09:00 CEST
    autumn = fires(sub(tz="America/New_York"), datetime(2026, 10, 31, 0, 0, tzinfo=UTC), 3)
    assert [t.hour for t in autumn] == [13, 14, 14]  # 09:00 EDT, then 09:00 EST
    # 02:30 does not exist in Paris on 29 March: the job runs once on each real day, never twice.
    gap = fires(sub(tz="Europe/Paris", time="02:30"), datetime(2026, 3, 28, 0, 0, tzinfo=UTC), 3)
    assert len({t.date() for t in gap}) == 3


def test_weekdays_only() -> None:
    week = fires(
        sub(days=("mon", "tue", "wed", "thu", "fri")), datetime(2026, 11, 27, tzinfo=UTC), 3
    )
    assert [t.strftime("%a") for t in week] == ["Fri", "Mon", "Tue"]


def test_catch_up_runs_only_slots_that_passed_today() -> None:
    subs = [
        sub(name="early", time="07:00", tz="Europe/Paris"),
        sub(name="late", time="18:00", tz="Europe/Paris"),
        sub(name="weekend", time="07:00", days=("sat", "sun")),
    ]
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # a Thursday, 10:00 in Paris
    assert [(s.name, d) for s, d in catch_up(subs, now)] == [("early", date(2026, 11, 26))]


def test_a_run_delayed_past_midnight_keeps_the_slot_day() -> None:
    from bot.daily import slot_date

    late = sub(time="23:30", tz="Europe/Paris")
    just_after = datetime(2026, 11, 26, 23, 10, tzinfo=UTC)  # 00:10 on the 27th in Paris
    assert slot_date(late, just_after) == date(2026, 11, 26)  # posts the 25th, not the 26th
    midday = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)  # 12:00 in Paris, after a 09:00 slot
    assert slot_date(sub(time="09:00", tz="Europe/Paris"), midday) == date(2026, 11, 27)


async def test_the_scheduler_fires_a_job_with_the_local_date() -> None:
    seen: list[tuple[str, date]] = []
    done = asyncio.Event()

    async def run(subscription: Subscription, fired_on: date) -> None:
        seen.append((subscription.name, fired_on))
        done.set()

    subscription = sub(name="tokyo", tz="Asia/Tokyo")
    scheduler = build_scheduler([subscription], run)
    scheduler.start()
    job = scheduler.get_job("tokyo")
    assert job.coalesce and job.max_instances == 1 and job.misfire_grace_time >= 3600
    job.modify(next_run_time=datetime.now(UTC))
    await asyncio.wait_for(done.wait(), 60)  # a hang guard, not a budget
    scheduler.shutdown(wait=False)
    from bot.daily import slot_date

    assert seen == [("tokyo", slot_date(subscription, datetime.now(UTC)))]


def daily(
    store: SqlStore,
    poster: ChatPoster,
    platform: str,
    owner: str,
    now: datetime | None = None,
    sim: SimClock | None = None,
) -> DailyPoster:
    source = ListSource("acme/app", hostile_day(12))
    posts = publisher(store, owner, now, sim.now if sim else None)
    return DailyPoster(engine_for(store), posts, lambda _spec: source, {platform: poster})


FIRED_ON = date(2026, 2, 20)  # posts 2026-02-19, the fixtures' day


async def test_a_double_firing_posts_once(store: SqlStore) -> None:
    with SlackEmulator() as slack:
        poster = SlackPoster(slack_client(slack.token, slack.api_url), Pacer([]))
        subscription = sub(slack_channel="C9")
        first, second = await asyncio.gather(
            daily(store, poster, "slack", "proc-a").run(subscription, FIRED_ON),
            daily(store, poster, "slack", "proc-b").run(subscription, FIRED_ON),
        )
        roots = [p for p in slack.posted if p.thread_ts is None]
    states = {first[0].outcome.state, second[0].outcome.state}  # type: ignore[union-attr]
    assert len(roots) == 1
    assert ClaimState.NEW in states and states & {
        ClaimState.BUSY,
        ClaimState.RESUMED,
        ClaimState.DONE,
    }
    assert len({p.all_text() for p in slack.posted}) == len(slack.posted)


KICKED = {
    "ok": False,
    "error_code": 403,
    "description": "Forbidden: bot was kicked from the supergroup chat",
}


async def test_a_kicked_bot_stops_with_one_line_and_a_retry_completes_in_telegram(
    store: SqlStore,
) -> None:
    with TelegramEmulator() as telegram:
        async with Bot(telegram.token, base_url=telegram.api_url) as bot:
            poster = TelegramPoster(bot, (Pacer([]), Pacer([])))
            subscription = sub(
                slack_channel=None, telegram_chat="-100777", telegram_topic=3, lowest_reply="low"
            )
            telegram.fail(Fault(403, KICKED, path_contains="sendMessage", skip=1))
            failed = await daily(store, poster, "telegram", "before").run(subscription, FIRED_ON)
            again = await daily(store, poster, "telegram", "after").run(subscription, FIRED_ON)
            third = await daily(store, poster, "telegram", "later", later(30)).run(
                subscription, FIRED_ON
            )
    assert failed[0].error is not None and failed[0].outcome is None
    assert str(failed[0].error).startswith("posted 1 of ")
    assert "telegram chat -100777 topic 3: Telegram said Forbidden: bot was kicked" in str(
        failed[0].error
    )
    assert "(add the bot to the chat again); run again to complete" in str(failed[0].error)
    assert again[0].outcome is not None and again[0].outcome.state is ClaimState.RESUMED
    assert third[0].outcome is not None and third[0].outcome.state is ClaimState.DONE
    root, *replies = telegram.sent
    assert "acme/app — 2026-02-19" in root.text
    assert all(r.reply_to == root.message_id and r.thread_id == 3 for r in replies)
    assert len(telegram.sent) == 1 + again[0].outcome.sent


async def test_an_empty_day_is_skipped_when_asked(store: SqlStore) -> None:
    with SlackEmulator() as slack:
        poster = SlackPoster(slack_client(slack.token, slack.api_url), Pacer([]))
        results = await daily(store, poster, "slack", "a").run(sub(), date(2026, 1, 2))
        assert results[0].outcome is None and slack.posted == []
        shown = await daily(store, poster, "slack", "a").run(
            sub(skip_empty=False), date(2026, 1, 2)
        )
        assert shown[0].outcome is not None and "No commits" not in slack.posted[0].all_text()
        assert "Commits on 2026-01-01: 0" in slack.posted[0].all_text()


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "digestbot.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_config_errors_name_the_key_and_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [model]
        model = "gpt-4o-mini"

        [[subscription]]
        name = "team"
        repos = ["acme/app"]
        slack_channel = "C1"
        time = "9am"

        [[subscription]]
        name = "ops"
        repos = ["acme/ops"]
        telegram_chat = -100123
        tz = "Mars/Olympus"
        days = ["mon", "fry"]
        colour = "blue"
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_subscriptions(path)
    message = str(caught.value)
    assert f"{path}:9: subscription[0].time: time must be HH:MM" in message
    assert f"{path}:15: subscription[1].tz: unknown time zone 'Mars/Olympus'" in message
    assert f"{path}:16: subscription[1].days: days must be some of" in message
    assert f"{path}:17: subscription[1].colour: Extra inputs are not permitted" in message


def test_config_needs_one_destination_and_unique_names(tmp_path: Path) -> None:
    both = write(
        tmp_path,
        '[[subscription]]\nname = "a"\nrepos = ["x/y"]\nslack_channel = "C"\ntelegram_chat = 1\n',
    )
    with pytest.raises(ConfigError, match=r":1: subscription\[0\]: set exactly one of"):
        load_subscriptions(both)
    twice = write(
        tmp_path,
        '[[subscription]]\nname = "a"\nrepos = ["x/y"]\nslack_channel = "C"\n'
        '[[subscription]]\nname = "a"\nrepos = ["x/z"]\nslack_channel = "D"\n',
    )
    with pytest.raises(ConfigError, match="names must be unique: a"):
        load_subscriptions(twice)
    good = write(tmp_path, '[[subscription]]\nname = "a"\nrepos = ["x/y"]\ntelegram_chat = -1001\n')
    assert load_subscriptions(good)[0].target.channel == "-1001"


def slack_daily(store: SqlStore, slack: SlackEmulator, sim: SimClock) -> DailyPoster:
    poster = SlackPoster(slack_client(slack.token, slack.api_url), Pacer([]))
    return daily(store, poster, "slack", "clock", sim=sim)


async def test_the_clock_retries_a_refused_post_until_someone_invites_the_bot(
    store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    sim = SimClock()
    subscription = sub(slack_channel="CINV", lowest_reply="low")
    with SlackEmulator() as slack:
        slack.not_in.add("CINV")
        daily_poster = slack_daily(store, slack, sim)
        attempts: list[date] = []

        async def run(s: Subscription, fired_on: date) -> list[DailyResult]:
            attempts.append(fired_on)
            if len(attempts) == 3:
                slack.not_in.clear()  # someone ran /invite @digestbot meanwhile
            return await daily_poster.run(s, fired_on)

        clock = DailyClock([subscription], run, now=sim.now, sleep=sim.sleep)
        with caplog.at_level(logging.INFO, logger="scheduler.clock"):
            assert await clock.complete(subscription, FIRED_ON)
        roots = [p for p in slack.posted if p.thread_ts is None]
        assert len(roots) == 1 and len(slack.ours("CINV")) == 13
    assert len(attempts) == 3
    assert sim.skipped == Backoff().delay(1) + Backoff().delay(2)  # 5 s, then 10 s
    assert "daily daily for 2026-02-19 complete after 3 attempts" in caplog.text
    assert "Slack said not_in_channel (invite the bot with /invite @digestbot)" in caplog.text


async def test_the_clock_gives_up_when_the_grace_runs_out_and_says_so_at_error(
    store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    sim = SimClock()
    subscription = sub(slack_channel="CNEVER", lowest_reply="low")
    with SlackEmulator() as slack:
        slack.not_in.add("CNEVER")
        daily_poster = slack_daily(store, slack, sim)
        backoff = Backoff(grace=timedelta(minutes=30))
        clock = DailyClock(
            [subscription], daily_poster.run, backoff=backoff, now=sim.now, sleep=sim.sleep
        )
        with caplog.at_level(logging.INFO, logger="scheduler.clock"):
            assert not await clock.complete(subscription, FIRED_ON)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    said = errors[0].getMessage()
    assert said.startswith("daily daily for 2026-02-19 gave up after ")
    assert "(the grace ran out): daily: acme/app: posted 0 of 13 messages to #CNEVER" in said
    assert timedelta(minutes=25) <= timedelta(seconds=sim.skipped) <= timedelta(minutes=30)


async def test_a_moved_group_is_not_retried(store: SqlStore) -> None:
    sim = SimClock()
    subscription = sub(slack_channel=None, telegram_chat="-100321")
    with TelegramEmulator() as telegram:
        telegram.migrated["-100321"] = -100999
        async with Bot(telegram.token, base_url=telegram.api_url) as bot:
            poster = TelegramPoster(bot, (Pacer([]), Pacer([])))
            timed = daily(store, poster, "telegram", "clock", sim=sim)
            clock = DailyClock([subscription], timed.run, now=sim.now, sleep=sim.sleep)
            assert not await clock.complete(subscription, FIRED_ON)
    assert sim.skipped == 0  # one attempt: only a changed telegram_chat can help
    assert telegram.sent == []


async def test_catch_up_goes_through_the_same_retries(store: SqlStore) -> None:
    sim = SimClock()
    subscription = sub(slack_channel="CCATCH", time="07:00", tz="UTC")
    with SlackEmulator() as slack:
        slack.not_in.add("CCATCH")
        daily_poster = slack_daily(store, slack, sim)
        slots: list[date] = []

        async def run(s: Subscription, fired_on: date) -> list[DailyResult]:
            slots.append(fired_on)
            if len(slots) == 2:
                slack.not_in.clear()
            return await daily_poster.run(s, FIRED_ON)  # the fixtures' day, whatever the slot

        clock = DailyClock([subscription], run, now=sim.now, sleep=sim.sleep)
        tasks = clock.catch_up(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
        assert len(tasks) == 1 and await tasks[0]
        assert len([p for p in slack.posted if p.thread_ts is None]) == 1
    assert slots == [date(2026, 11, 26)] * 2  # today's passed slot, tried again after a refusal
