"""Chat subscriptions, live: the clock follows the database without a restart, slot-exactly.

Why polling: the web process (or another container) writes a change and the clock process
schedules, and both share only the database, SQLite or PostgreSQL. So the clock reads one
revision number (a primary-key read) every `poll_seconds`, and a command handled in this very
process wakes it at once (`nudge`). The delay of a poll never loses or doubles a slot:
- a job re-reads its subscription when it fires: removed, or its schedule changed, it does not
  post (the change's own job, or its catch-up, posts instead);
- a change or an addition seen late still owes the latest slot that passed since the
  subscription was made or last handled (`covered`): that slot is run at once, and only it;
- a slot that already ran is covered, so moving the time or the zone never posts a day twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import log_messages as say
from bot.cadence import fired_on, latest_slot, schedule_of
from bot.daily import slot_date
from bot.subscriptions import Subscription
from bot.team import ChatSubscription, SubscriptionStore
from scheduler.clock import DailyClock, add_job

POLL_SECONDS = 10.0
_log = logging.getLogger(__name__)


@dataclass
class _Known:
    """A scheduled chat subscription; its slots up to `covered` ran (or were not owed)."""

    subscription: Subscription
    covered: datetime
    # The newest slot day posted here: a zone moved west after today's post must not post the
    # same day again at the new zone's later slot (the post key holds the zone, so only this
    # stops it).
    last_day: date | None = None

    def owes(self, day: date) -> bool:
        """True when `day` is newer than the last day posted (and records it)."""
        if self.last_day is not None and day <= self.last_day:
            return False
        self.last_day = day
        return True


class LiveSchedule:
    """Keeps the clock's jobs for chat subscriptions equal to the database."""

    def __init__(
        self,
        store: SubscriptionStore,
        clock: DailyClock,
        *,
        poll_seconds: float = POLL_SECONDS,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._clock = clock
        self._poll = poll_seconds
        self._now = now
        self._sleep = sleep
        self._known: dict[str, _Known] = {}
        self._revision: int | None = None
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    def nudge(self) -> None:
        """A change was made in this process: look now rather than at the next poll."""
        self._wake.set()

    async def watch(self) -> None:
        """Poll until cancelled; the first look catches up today's passed slots, like a start."""
        starting = True
        while True:
            try:
                await self.poll(starting=starting)
                starting = False
            except Exception as exc:  # a database hiccup: the next poll tries again
                _log.warning("chat subscriptions: could not read them: %s", exc)
            await self._pause()

    async def _pause(self) -> None:
        sleeping = asyncio.ensure_future(self._sleep(self._poll))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeping, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:  # also when the watch is cancelled (stopping): no waiter left behind
            for waiter in (sleeping, woken):
                waiter.cancel()
        self._wake.clear()

    async def poll(self, *, starting: bool = False) -> list[asyncio.Task[bool]]:
        """Sync the jobs when the revision moved; the catch-ups started, if any."""
        revision = await self._store.revision()
        if revision == self._revision:
            return []
        items = await self._store.chat_subscriptions()
        self._revision = revision
        _log.info("chat subscriptions at revision %d: %d scheduled", revision, len(items))
        return self.sync(items, starting=starting)

    def sync(self, items: list[ChatSubscription], *, starting: bool) -> list[asyncio.Task[bool]]:
        """Remove, move and add jobs; start the catch-up a change still owes."""
        now, wanted = self._now(), {i.name for i in items}
        for name in [n for n in self._known if n not in wanted]:
            self._drop(name)
        started = [self._one(item, now, starting) for item in items]
        return [task for task in started if task is not None]

    def _one(
        self, item: ChatSubscription, now: datetime, starting: bool
    ) -> asyncio.Task[bool] | None:
        s, known = item.subscription, self._known.get(item.name)
        if known is not None and schedule_of(known.subscription) == schedule_of(s):
            known.subscription = s  # language: the job reads the subscription when it fires
            return None
        entry = known or _Known(s, _since(item, now, starting))
        entry.subscription = s
        self._known[item.name] = entry
        self._remove_job(s.name)  # a scheduler not yet started keeps duplicates: never two
        add_job(self._clock.scheduler(), s, self._fire, (s,))
        what = "moved" if known else "scheduled"
        when = f"at {s.time} {s.tz} on {','.join(s.days)}"
        _log.info(say.job_scheduled(s.cadence, s.name, what, when), extra={"subscription": s.name})
        slot = latest_slot(s, now, entry.covered)
        if slot is None:
            return None
        entry.covered = now
        ids = {"subscription": s.name}
        _log.info(
            "%s %s: its slot of %s passed unserved: running it now",
            s.cadence,
            s.name,
            slot,
            extra=ids,
        )
        return self._start(s, slot)

    def _start(self, subscription: Subscription, slot: datetime) -> asyncio.Task[bool] | None:
        day = fired_on(subscription, slot)
        if self._clock.busy(subscription.name, day):
            return None  # its day is being posted (or retried) already
        known = self._known.get(subscription.name)
        if known is not None and not known.owes(day):
            return None
        task = asyncio.create_task(self._clock.complete(subscription, day, self.current))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _drop(self, name: str) -> None:
        self._known.pop(name, None)
        self._remove_job(name)
        _log.info(
            "chat subscription %s removed: its job is gone", name, extra={"subscription": name}
        )

    def _remove_job(self, name: str) -> None:
        scheduler = self._clock.scheduler()
        while scheduler.get_job(name) is not None:
            scheduler.remove_job(name)

    async def _fire(self, scheduled: Subscription) -> None:
        """A job's firing: post only if the subscription still exists with this schedule."""
        now = self._now()
        try:
            latest = await self.current(scheduled)
            if latest is None or schedule_of(latest) != schedule_of(scheduled):
                _log.info("%s: changed or removed since it was scheduled: skipped", scheduled.name)
                return
            day = slot_date(latest, now)
            if (known := self._known.get(scheduled.name)) is not None:
                known.covered = now
                if not known.owes(day):
                    _log.info(
                        "%s: %s was posted already (before a move): skipped", latest.name, day
                    )
                    return
            await self._clock.complete(latest, day, self.current)
        except Exception:  # one failing subscription must not stop the clock
            _log.exception("%s digest %s failed", scheduled.cadence, scheduled.name)

    async def current(self, subscription: Subscription) -> Subscription | None:
        """The subscription as stored now; None once removed (a read failure keeps it)."""
        try:
            item = await self._store.get(subscription.name)
        except Exception as exc:
            _log.warning("%s: could not re-read it (%s): going on", subscription.name, exc)
            return subscription
        return item.subscription if item is not None else None

    async def stop(self) -> None:
        """Cancel the catch-ups this schedule started (their claims are released)."""
        for task in list(self._tasks):
            task.cancel()


def _since(item: ChatSubscription, now: datetime, starting: bool) -> datetime:
    """Where owed slots start: its creation; on a start, today only (like the config file's)."""
    if not starting:
        return item.created_at
    zone = ZoneInfo(item.subscription.tz)
    midnight = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    return max(item.created_at, midnight - timedelta(microseconds=1))
