"""The schedule words of `/digest subscribe` and `settings`: daily|weekly, at, tz, lang, on."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import CommandError
from bot.subscriptions import WEEKDAYS

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_DAY_SETS = {
    "weekdays": WEEKDAYS[:5],
    "weekends": WEEKDAYS[5:],
    "weekend": WEEKDAYS[5:],
    "everyday": WEEKDAYS,
}


@dataclass(frozen=True)
class ScheduleOptions:
    """What `subscribe` and `settings` set; None keeps the current value (or the default)."""

    cadence: str | None = None
    time: str | None = None
    tz: str | None = None
    language: str | None = None
    days: tuple[str, ...] | None = None

    def given(self) -> dict[str, object]:
        """The options that were given, by Subscription field name."""
        names = ("cadence", "time", "tz", "language", "days")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


def read_options(
    args: list[str], is_repo: Callable[[str], bool]
) -> tuple[str | None, ScheduleOptions]:
    """The repository and the schedule options among a command's words; each said once."""
    repo, values, words = None, dict[str, Any](), iter(args)
    for word in words:
        low = word.lower()
        key, value = _option(low, words)
        if key is None and is_repo(word) and repo is None:
            repo = word
            continue
        if key is None:
            raise CommandError(f"I don't understand {word!r}")
        if key in values:
            raise CommandError(f"{key} is given twice")
        values[key] = value
    return repo, ScheduleOptions(**values)


def _option(word: str, rest: Iterator[str]) -> tuple[str | None, Any]:
    if word in ("daily", "weekly"):
        return "cadence", word
    if word not in _READERS:
        return None, None
    key, read = _READERS[word]
    value = next(rest, None)
    if value is None:
        raise CommandError(f"{word!r} needs a value, e.g. at 09:00, tz Europe/Berlin, on mon-fri")
    return key, read(value)


def _time(value: str) -> str:
    match = _TIME.match(value)
    if not match:
        raise CommandError(
            f"the time must be HH:MM on a 24-hour clock, e.g. at 09:00, not {value!r}"
        )
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise CommandError(
            f"unknown time zone {value!r}: use an IANA name such as Europe/Berlin"
        ) from None
    return value


def _language(value: str) -> str:
    if value.lower() not in ("zh", "en"):
        raise CommandError(f"the language is zh or en, not {value!r}")
    return value.lower()


def _days(value: str) -> tuple[str, ...]:
    """`mon-fri`, `mon,wed,fri`, `fri-mon` (wrapping), `weekdays`, `weekends` or `everyday`."""
    chosen: set[str] = set()
    for part in value.lower().split(","):
        chosen.update(_day_part(part.strip()))
    return tuple(d for d in WEEKDAYS if d in chosen)


def _day_part(part: str) -> tuple[str, ...]:
    if part in _DAY_SETS:
        return _DAY_SETS[part]
    first, _, last = part.partition("-")
    if first not in WEEKDAYS or (last and last not in WEEKDAYS):
        raise CommandError(
            f"days are mon … sun, ranges (mon-fri), lists (mon,wed) or weekdays, not {part!r}"
        )
    if not last:
        return (first,)
    start, end = WEEKDAYS.index(first), WEEKDAYS.index(last)
    span = (end - start) % 7 + 1
    return tuple(WEEKDAYS[(start + i) % 7] for i in range(span))


_READERS: dict[str, tuple[str, Callable[[str], object]]] = {
    "at": ("time", _time),
    "tz": ("tz", _zone),
    "lang": ("language", _language),
    "on": ("days", _days),
}
