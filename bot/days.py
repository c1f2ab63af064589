"""Day windows: `today|yesterday|YYYY-MM-DD|last` in an IANA time zone → [00:00, 24:00)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import DateSpecError

LAST = "last"
# Days a window can be built for: git dates start in 1970, and the day after 9999-12-31
# (the window's end) is past what Python's dates can hold.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9999, 12, 30)


@dataclass(frozen=True)
class DayWindow:
    """One calendar day in one zone, as an aware half-open interval."""

    day: date
    tz: str

    @property
    def start(self) -> datetime:
        """00:00 of the day, in the zone."""
        return datetime.combine(self.day, time(0), ZoneInfo(self.tz))

    @property
    def end(self) -> datetime:
        """00:00 of the next day, in the zone (23 or 25 hours later across DST)."""
        return datetime.combine(self.day + timedelta(days=1), time(0), ZoneInfo(self.tz))

    def contains(self, moment: datetime) -> bool:
        """True when an aware moment falls in [start, end)."""
        return self.start <= moment < self.end

    @classmethod
    def of(cls, moment: datetime, tz: str) -> DayWindow:
        """The window of the day containing an aware moment, in a zone."""
        return cls(moment.astimezone(ZoneInfo(tz)).date(), tz)


def zone(name: str) -> ZoneInfo:
    """Resolve an IANA zone name, with a clear error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DateSpecError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin"
        ) from exc


def local_zone_name() -> str:
    """This machine's IANA zone: $TZ, /etc/timezone, the /etc/localtime link, else UTC."""
    env = os.environ.get("TZ", "").lstrip(":")
    candidates = [env] if env else []
    timezone_file = Path("/etc/timezone")
    if timezone_file.is_file():
        candidates.append(timezone_file.read_text(encoding="utf-8").strip())
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    for name in candidates:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return "UTC"


def parse_day(spec: str, tz: str, now: datetime | None = None) -> date | None:
    """`today`, `yesterday` or `YYYY-MM-DD` → a date; `last` → None (resolved by a source)."""
    zone(tz)
    current = (now or datetime.now(UTC)).astimezone(ZoneInfo(tz)).date()
    text = spec.strip().lower()
    if text == "today":
        return current
    if text == "yesterday":
        return current - timedelta(days=1)
    if text == LAST:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise DateSpecError(
            f"cannot read the date {spec!r}: use today, yesterday, last or YYYY-MM-DD"
        ) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DateSpecError(
            f"the date {day.isoformat()} is out of range: use a day from "
            f"{FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"
        )
    return day
