"""When to post: one APScheduler cron job per subscription, in its own zone, plus catch-up."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.daily import slot_date, slot_passed_today
from bot.subscriptions import Subscription

# A restart or a long post must not lose a day: a late run within this grace still happens.
MISFIRE_GRACE_SECONDS = 6 * 3600
Run = Callable[[Subscription, date], Awaitable[object]]
_log = logging.getLogger(__name__)


def trigger_for(subscription: Subscription) -> CronTrigger:
    """The wall-clock schedule in the subscription's zone (DST handled by APScheduler)."""
    at = subscription.at
    return CronTrigger(
        day_of_week=",".join(subscription.days),
        hour=at.hour,
        minute=at.minute,
        timezone=ZoneInfo(subscription.tz),
    )


def build_scheduler(subscriptions: Sequence[Subscription], run: Run) -> AsyncIOScheduler:
    """A scheduler with one coalescing, single-instance job per subscription (not started)."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for subscription in subscriptions:
        scheduler.add_job(
            _fire,
            trigger_for(subscription),
            args=(subscription, run),
            id=subscription.name,
            name=f"daily digest {subscription.name}",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
            replace_existing=True,
        )
    return scheduler


async def _fire(subscription: Subscription, run: Run) -> None:
    fired_on = slot_date(subscription, datetime.now(UTC))  # a late (misfired) run keeps its day
    try:
        await run(subscription, fired_on)
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
