"""When a subscription's slots fall: the next one, the latest one, and the days a post covers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.subscriptions import WEEKDAYS, Subscription

# Slots are searched this many days either side of a moment: a week holds at least one slot.
_REACH = 8


def slot_on(subscription: Subscription, day: date) -> datetime:
    """The moment (UTC) of the slot on a local day; a time a DST gap skips falls after it."""
    local = datetime.combine(day, subscription.at, tzinfo=ZoneInfo(subscription.tz))
    return local.astimezone(UTC)


def _slots(subscription: Subscription, around: datetime) -> list[datetime]:
    """The slots within `_REACH` days of a moment, oldest first."""
    today = around.astimezone(ZoneInfo(subscription.tz)).date()
    days = (today + timedelta(days=n) for n in range(-_REACH, _REACH + 1))
    return [slot_on(subscription, d) for d in days if WEEKDAYS[d.weekday()] in subscription.days]


def next_slot(subscription: Subscription, now: datetime) -> datetime:
    """The first slot after `now`."""
    return next(s for s in _slots(subscription, now) if s > now)


def latest_slot(subscription: Subscription, now: datetime, since: datetime) -> datetime | None:
    """The latest slot in (since, now], if any: the one a late start still owes."""
    due = [s for s in _slots(subscription, now) if since < s <= now]
    return due[-1] if due else None


def fired_on(subscription: Subscription, slot: datetime) -> date:
    """The local date of a slot: a daily post covers the day before, a weekly the week before."""
    return slot.astimezone(ZoneInfo(subscription.tz)).date()


def covered_days(subscription: Subscription, fired: date) -> list[date]:
    """The days a post fired on `fired` covers, oldest first."""
    span = 7 if subscription.cadence == "weekly" else 1
    return [fired - timedelta(days=n) for n in range(span, 0, -1)]


def schedule_of(subscription: Subscription) -> tuple[str, str, str, tuple[str, ...]]:
    """What decides when a subscription fires (a change to it moves the job)."""
    return subscription.cadence, subscription.time, subscription.tz, subscription.days
