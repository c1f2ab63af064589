"""Chat subscriptions followed live by the clock: added, moved, removed; across zones, exactly."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.chat import ChatTarget
from bot.config import load_settings
from bot.daily import DailyResult
from bot.storage.sql_store import SqlStore
from bot.storage.team_store import SqlSubscriptionStore
from bot.subscriptions import Subscription
from bot.team import GITHUB, ChatSubscription, chat_name, destination
from digestbot.clock_role import Clock as RoleClock
from digestbot.service import open_service
from digestbot.wiring import open_core
from scheduler.clock import DailyClock
from scheduler.live import LiveSchedule
from tests.waiting import until

BERLIN = ZoneInfo("Europe/Berlin")
TARGET = ChatTarget("slack", "CTEAM")


class Clock:
    """A settable now."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def local(day: int, hour: int, minute: int = 0, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=zone).astimezone(UTC)


def item(created: datetime, **fields: object) -> ChatSubscription:
    values: dict[str, object] = {
        "name": chat_name(TARGET, "acme/app"),
        "repos": (GITHUB + "acme/app",),
        **destination(TARGET),
        "time": "10:00",
        "tz": "Europe/Berlin",
        **fields,
    }
    return ChatSubscription(Subscription.model_validate(values), "acme/app", "U1", created, created)


class Rig:
    """A clock whose runs are recorded, following a real subscription store."""

    def __init__(self, store: SqlStore, now: Clock) -> None:
        self.runs: list[tuple[date, str, str]] = []
        self.store = SqlSubscriptionStore(store.engine)
        self.clock = DailyClock([], self.run, now=now)
        self.live = LiveSchedule(self.store, self.clock, now=now)

    async def run(self, subscription: Subscription, fired_on: date) -> list[DailyResult]:
        self.runs.append((fired_on, subscription.tz, subscription.language))
        return []

    async def poll(self, *, starting: bool = False) -> None:
        for task in await self.live.poll(starting=starting):
            await task

    async def fire(self, name: str) -> None:
        """What APScheduler does when the job's time comes: call it with its arguments."""
        job = self.clock.scheduler().get_job(name)
        assert job is not None
        await job.func(*job.args)


@pytest.fixture
def now() -> Clock:
    return Clock(local(26, 8))


@pytest.fixture
def rig(store: SqlStore, now: Clock) -> Rig:
    return Rig(store, now)


def next_after(rig: Rig, name: str, moment: datetime) -> datetime:
    job = rig.clock.scheduler().get_job(name)
    assert job is not None
    found = job.trigger.get_next_fire_time(None, moment + timedelta(seconds=1))
    assert found is not None
    return found.astimezone(UTC)  # type: ignore[no-any-return]


async def test_a_subscription_seen_after_its_slot_runs_that_slot_once(rig: Rig, now: Clock) -> None:
    first = item(local(26, 9, 59) - timedelta(seconds=5))  # made 5 s before its 10:00 slot
    await rig.store.save(first)
    now.moment = local(26, 10) + timedelta(seconds=5)  # the clock polls 5 s after the slot
    await rig.poll()
    assert rig.runs == [(date(2026, 11, 26), "Europe/Berlin", "en")]
    await rig.poll()  # nothing changed: nothing more
    assert len(rig.runs) == 1
    assert next_after(rig, first.name, now.moment) == local(27, 10)


async def test_a_new_subscription_waits_for_its_next_slot(rig: Rig, now: Clock) -> None:
    await rig.store.save(item(local(26, 8)))
    await rig.poll()
    assert rig.runs == []
    assert next_after(rig, item(now.moment).name, now.moment) == local(26, 10)


async def test_moving_the_time_earlier_past_now_runs_the_day_once(rig: Rig, now: Clock) -> None:
    made = item(local(20, 8))
    await rig.store.save(made)
    await rig.poll(starting=True)
    now.moment = local(26, 9, 30)  # the 10:00 slot has not come; 09:00 just passed
    await rig.store.save(item(local(20, 8), time="09:00"))
    await rig.poll()
    assert rig.runs == [(date(2026, 11, 26), "Europe/Berlin", "en")]
    old = Subscription.model_validate(made.subscription.model_dump())
    now.moment = local(26, 10)
    await rig.live._fire(old)  # the old job, had it fired before the poll: it does not post
    assert len(rig.runs) == 1
    assert next_after(rig, made.name, now.moment) == local(27, 9)


async def test_moving_after_the_day_posted_never_posts_it_again(rig: Rig, now: Clock) -> None:
    made = item(local(20, 8))
    await rig.store.save(made)
    await rig.poll(starting=True)
    now.moment = local(26, 10)
    await rig.fire(made.name)  # today's 10:00 slot posts
    assert rig.runs == [(date(2026, 11, 26), "Europe/Berlin", "en")]
    now.moment = local(26, 10, 30)
    tokyo = item(local(20, 8), tz="Asia/Tokyo")  # 10:00 in Tokyo is 02:00 in Berlin: passed
    await rig.store.save(tokyo)
    await rig.poll()
    assert len(rig.runs) == 1  # today was posted: the zone change does not post it again
    tokyo_ten = datetime(2026, 11, 27, 10, tzinfo=ZoneInfo("Asia/Tokyo")).astimezone(UTC)
    assert next_after(rig, made.name, now.moment) == tokyo_ten


async def test_moving_west_after_the_day_posted_never_posts_it_again(rig: Rig, now: Clock) -> None:
    made = item(local(20, 8))
    await rig.store.save(made)
    await rig.poll(starting=True)
    now.moment = local(26, 10)
    await rig.fire(made.name)  # today's 10:00 Berlin slot posts
    now.moment = local(26, 10, 30)
    await rig.store.save(item(local(20, 8), tz="America/New_York"))  # 10:00 there: 16:00 here
    await rig.poll()
    now.moment = datetime(2026, 11, 26, 10, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
    await rig.fire(made.name)  # the same calendar day, later: not posted again
    assert rig.runs == [(date(2026, 11, 26), "Europe/Berlin", "en")]
    now.moment = datetime(2026, 11, 27, 10, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
    await rig.fire(made.name)  # the next day posts, in the new zone
    assert rig.runs[-1] == (date(2026, 11, 27), "America/New_York", "en")


async def test_a_change_seen_before_its_old_slot_moves_the_job_only(rig: Rig, now: Clock) -> None:
    made = item(local(20, 8))
    await rig.store.save(made)
    await rig.poll(starting=True)
    await rig.store.save(item(local(20, 8), time="11:30", tz="America/New_York"))
    await rig.poll()
    assert rig.runs == []
    ny = datetime(2026, 11, 26, 11, 30, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
    assert next_after(rig, made.name, now.moment) == ny


async def test_a_language_change_keeps_the_job_and_the_firing_reads_it(
    rig: Rig, now: Clock
) -> None:
    made = item(local(20, 8))
    await rig.store.save(made)
    await rig.poll(starting=True)
    await rig.store.save(item(local(20, 8), language="zh"))
    await rig.poll()
    now.moment = local(26, 10)
    await rig.fire(made.name)
    assert rig.runs == [(date(2026, 11, 26), "Europe/Berlin", "zh")]


async def test_unsubscribed_before_the_poll_the_stale_job_posts_nothing(
    rig: Rig, now: Clock
) -> None:
    made = item(local(20, 8))
    await rig.store.save(made)
    await rig.poll(starting=True)
    assert await rig.store.remove(made.name)
    now.moment = local(26, 10)
    await rig.fire(made.name)  # fires before the clock saw the removal
    assert rig.runs == []
    await rig.poll()
    assert rig.clock.scheduler().get_job(made.name) is None


async def test_a_start_catches_up_only_today_like_the_config_file(rig: Rig, now: Clock) -> None:
    await rig.store.save(item(local(1, 8)))  # made weeks ago
    now.moment = local(26, 12)  # the clock starts after today's slot
    await rig.poll(starting=True)
    assert rig.runs == [(date(2026, 11, 26), "Europe/Berlin", "en")]


async def test_a_weekly_subscription_fires_on_its_day(rig: Rig, now: Clock) -> None:
    weekly = item(local(20, 8), cadence="weekly", days=("fri",), time="16:00")
    await rig.store.save(weekly)
    await rig.poll()
    # 2026-11-26 is a Thursday: the next slot is Friday 16:00 in Berlin, then a week later.
    assert next_after(rig, weekly.name, now.moment) == local(27, 16)
    assert next_after(rig, weekly.name, local(27, 16, 1)) == datetime(
        2026, 12, 4, 16, tzinfo=BERLIN
    ).astimezone(UTC)


async def test_the_scheduler_itself_fires_a_live_job(store: SqlStore) -> None:
    seen: list[date] = []
    done = asyncio.Event()

    async def run(subscription: Subscription, fired_on: date) -> list[DailyResult]:
        seen.append(fired_on)
        done.set()
        return []

    subs = SqlSubscriptionStore(store.engine)
    clock = DailyClock([], run)
    live = LiveSchedule(subs, clock)
    made = item(datetime.now(UTC) - timedelta(days=3))
    await subs.save(made)
    await live.poll()
    scheduler = clock.scheduler()
    scheduler.start()
    try:
        job = scheduler.get_job(made.name)
        job.modify(next_run_time=datetime.now(UTC))
        await asyncio.wait_for(done.wait(), 30)
    finally:
        scheduler.shutdown(wait=False)
    from bot.daily import slot_date

    assert seen == [slot_date(made.subscription, datetime.now(UTC))]


async def test_a_nudge_wakes_the_watcher_without_waiting_for_the_poll(store: SqlStore) -> None:
    polls: list[asyncio.Event] = [asyncio.Event(), asyncio.Event()]
    subs = SqlSubscriptionStore(store.engine)

    class Counting(SqlSubscriptionStore):
        async def revision(self) -> int:
            next(e for e in polls if not e.is_set()).set()
            return await subs.revision()

    never = asyncio.Event()

    async def long_sleep(_seconds: float) -> None:
        await never.wait()  # a poll interval that never ends by itself

    async def run(subscription: Subscription, fired_on: date) -> list[DailyResult]:
        return []

    live = LiveSchedule(Counting(store.engine), DailyClock([], run), sleep=long_sleep)
    watcher = asyncio.create_task(live.watch())
    try:
        await asyncio.wait_for(polls[0].wait(), 30)
        assert not polls[1].is_set()  # the poll interval never ends by itself
        live.nudge()
        await asyncio.wait_for(polls[1].wait(), 30)  # the nudge woke it
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def test_with_a_queue_the_clock_still_posts_the_subscriptions_made_in_chat(
    database_url: str,
) -> None:
    # Workers know only the config file's subscriptions: a chat's own must not be dropped.
    service = await open_service(await open_core(load_settings({"DATABASE_URL": database_url})), ())
    enqueued: list[tuple[str, date]] = []

    async def fire(subscription: Subscription, fired_on: date) -> None:
        enqueued.append((subscription.name, fired_on))

    service.fire = fire
    made = item(datetime.now(UTC))
    await SqlSubscriptionStore(service.core.store.engine).save(made)
    clock = RoleClock(service)
    try:
        await clock.start(datetime.now(UTC))
        assert clock.chat_jobs is not None
        jobs = clock.chat_jobs
        await until(
            lambda: jobs.get_job(made.name) is not None
        )  # the first poll: in the background
        assert clock.scheduler is not None and clock.scheduler.get_job(made.name) is None
    finally:
        await clock.stop()
        await service.close()
    assert enqueued == []
