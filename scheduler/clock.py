"""When to post: a cron job per subscription in its own zone, catch-up, and retries until done."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot import log_messages as say
from bot.daily import DailyResult, DayStatus, describe, slot_date, slot_passed_today, status_of
from bot.errors import ConfigError
from bot.subscriptions import Subscription
from bot.telemetry import Retry, emit

# A restart or a long post must not lose a day: a late run within this grace still happens,
# and a failing post is retried for as long.
MISFIRE_GRACE_SECONDS = 6 * 3600
Fire = Callable[[Subscription, date], Awaitable[object]]
Run = Callable[[Subscription, date], Awaitable[list[DailyResult]]]
# The subscription as it is now (None: removed): a chat subscription can change between attempts.
Refresh = Callable[[Subscription], Awaitable[Subscription | None]]
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """Capped exponential waits between attempts; a held post is re-checked when it can expire."""

    first: float = 5.0
    cap: float = 300.0
    grace: timedelta = timedelta(seconds=MISFIRE_GRACE_SECONDS)
    margin: float = 1.0  # after another owner's lease runs out, so the re-check finds it out

    def delay(self, attempt: int) -> float:
        """Seconds before attempt `attempt + 1` (attempts count from 1)."""
        return float(min(self.cap, self.first * 2 ** (attempt - 1)))


def trigger_for(subscription: Subscription) -> CronTrigger:
    """The wall-clock schedule in the subscription's zone (DST handled by APScheduler)."""
    at = subscription.at
    return CronTrigger(
        day_of_week=",".join(subscription.days),
        hour=at.hour,
        minute=at.minute,
        timezone=ZoneInfo(subscription.tz),
    )


def build_scheduler(subscriptions: Sequence[Subscription], fire: Fire) -> AsyncIOScheduler:
    """A scheduler with one coalescing, single-instance job per subscription (not started)."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for subscription in subscriptions:
        add_job(scheduler, subscription, _fire, (subscription, fire))
    return scheduler


def add_job(
    scheduler: AsyncIOScheduler,
    subscription: Subscription,
    job: Callable[..., Awaitable[None]],
    args: tuple[object, ...],
) -> None:
    """Add (or replace) a subscription's job: coalescing, one at a time, hours of grace."""
    scheduler.add_job(
        job,
        trigger_for(subscription),
        args=args,
        id=subscription.name,
        name=f"{subscription.cadence} digest {subscription.name}",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
        replace_existing=True,
    )


async def _fire(subscription: Subscription, fire: Fire) -> None:
    fired_on = slot_date(subscription, datetime.now(UTC))  # a late (misfired) run keeps its day
    try:
        await fire(subscription, fired_on)
    except Exception:  # one failing subscription must not stop the clock
        _log.exception("daily digest %s failed", subscription.name)


def catch_up(
    subscriptions: Sequence[Subscription], now: datetime
) -> list[tuple[Subscription, date]]:
    """Subscriptions whose slot already passed today: run once on start (the post is idempotent)."""
    due = []
    for subscription in subscriptions:
        today = slot_passed_today(subscription, now)
        if today is not None:
            due.append((subscription, today))
    return due


def slot_time(subscription: Subscription, fired_on: date) -> datetime:
    """The moment the slot of `fired_on` fired, in UTC."""
    local = datetime.combine(fired_on, subscription.at, tzinfo=ZoneInfo(subscription.tz))
    return local.astimezone(UTC)


class DailyClock:
    """Runs each subscription's day until it is complete: on schedule, on catch-up, on retry."""

    def __init__(
        self,
        subscriptions: Sequence[Subscription],
        run: Run,
        *,
        backoff: Backoff | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._subscriptions = tuple(subscriptions)
        self._run = run
        self._backoff = backoff or Backoff()
        self._now = now
        self._sleep = sleep
        self._running: set[asyncio.Task[Any]] = set()
        self._days: set[tuple[str, date]] = set()  # (subscription, fired_on) being completed
        self._scheduler = build_scheduler(self._subscriptions, self.complete)

    def scheduler(self) -> AsyncIOScheduler:
        """The cron jobs; each firing runs `complete` for its slot's day."""
        return self._scheduler

    def busy(self, name: str, fired_on: date) -> bool:
        """True while a subscription's day is being posted (or retried)."""
        return (name, fired_on) in self._days

    def catch_up(self, now: datetime | None = None) -> list[asyncio.Task[bool]]:
        """Start, in the background, every slot that already passed today."""
        due = catch_up(self._subscriptions, now or self._now())
        return [asyncio.create_task(self.complete(s, today)) for s, today in due]

    async def complete(
        self, subscription: Subscription, fired_on: date, refresh: Refresh | None = None
    ) -> bool:
        """Post the day, retrying until it is complete or the grace runs out; True when done.

        With `refresh`, each attempt uses the subscription as it is then, and stops once it is
        removed.
        """
        task, day = asyncio.current_task(), (subscription.name, fired_on)
        if task is not None:
            self._running.add(task)
        self._days.add(day)
        try:
            return await self._attempts(subscription, fired_on, refresh)
        finally:
            self._days.discard(day)
            if task is not None:
                self._running.discard(task)

    async def _attempts(
        self, subscription: Subscription, fired_on: date, refresh: Refresh | None
    ) -> bool:
        ids = _ids(subscription, fired_on)
        deadline = max(slot_time(subscription, fired_on), self._now()) + self._backoff.grace
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(subscription, fired_on, refresh)
            if outcome is None:
                return False  # unsubscribed meanwhile: nothing more to post
            status, line = outcome
            if status.complete:
                if attempt > 1:
                    _log.info(say.day_complete(*ids, attempt), extra=_fields(ids, attempt))
                return True
            wait = self._next_wait(status, attempt, deadline, (*ids, line))
            if wait is None:
                return False
            await self._sleep(wait)

    def _next_wait(
        self, status: DayStatus, attempt: int, deadline: datetime, said: tuple[str, str, str]
    ) -> float | None:
        """Seconds to the next attempt, or None (said at ERROR) when retrying is over."""
        name, day, line = said
        ids = (name, day)
        wait = self._wait(status, attempt)
        if not status.retry_helps or self._now() + timedelta(seconds=wait) > deadline:
            why = "no retry can help" if not status.retry_helps else "the grace ran out"
            _log.error(say.day_given_up(*ids, attempt, why, line), extra=_fields(ids, attempt))
            return None
        emit(Retry("clock", f"daily {name} for {day}", attempt, wait, line, _fields(ids)), _log)
        return wait

    async def _attempt(
        self, subscription: Subscription, fired_on: date, refresh: Refresh | None = None
    ) -> tuple[DayStatus, str] | None:
        if refresh is not None:
            latest = await refresh(subscription)  # a chat subscription, as it is now
            if latest is None:
                ids = _ids(subscription, fired_on)
                _log.info(say.unsubscribed(subscription.cadence, *ids), extra=_fields(ids))
                return None
            subscription = latest
        try:
            results = await self._run(subscription, fired_on)
        except (LookupError, ConfigError) as exc:  # not configured: waiting will not change that
            return DayStatus(False, retry_helps=False), str(exc)
        except Exception as exc:  # a database or network failure outside a post: try again
            fields = _fields(_ids(subscription, fired_on))
            _log.warning(say.daily_failed(subscription.name, exc), extra=fields)
            return DayStatus(False), f"{type(exc).__name__}: {exc}"
        return status_of(results), describe(subscription, results)

    def _wait(self, status: DayStatus, attempt: int) -> float:
        if status.busy_until is None:
            return self._backoff.delay(attempt)
        until = (status.busy_until - self._now()).total_seconds() + self._backoff.margin
        return max(until, self._backoff.margin)

    async def stop(self, seconds: float) -> None:
        """Give running posts `seconds` to finish, then cancel them (they release their claims)."""
        running = list(self._running)
        if running:
            await asyncio.wait(running, timeout=seconds)
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running, timeout=5)


def _ids(subscription: Subscription, fired_on: date) -> tuple[str, str]:
    """The ids a log line about a day's post carries: the subscription and the day posted."""
    return subscription.name, (fired_on - timedelta(days=1)).isoformat()


def _fields(ids: tuple[str, str], attempt: int | None = None) -> dict[str, object]:
    fields: dict[str, object] = {"subscription": ids[0], "day": ids[1]}
    return fields | ({"attempt": attempt} if attempt else {})
