"""The one `/digest` grammar every platform shares, parsed by a pure function."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.days import LAST
from bot.errors import CommandError
from bot.subscriptions import WEEKDAYS

_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_DATE = re.compile(r"^(today|yesterday|last|\d{4}-\d{2}-\d{2})$", re.IGNORECASE)
_PR = re.compile(r"^#?(\d{1,7})$")
_SHA = re.compile(r"^[0-9a-fA-F]{7,40}$")


@dataclass(frozen=True)
class DigestCommand:
    """`/digest [DATE] [owner/name]`: build or recall a digest."""

    day: str = LAST
    repo: str | None = None


@dataclass(frozen=True)
class ExplainCommand:
    """`/digest explain #6356` or `explain <sha>`: one change in depth."""

    pr_number: int | None = None
    sha: str | None = None


@dataclass(frozen=True)
class HelpCommand:
    """`/digest help`."""


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


@dataclass(frozen=True)
class SubscribeCommand:
    """`/digest subscribe owner/repo [daily|weekly] [at HH:MM] [tz ZONE] [lang zh|en] [on DAYS]`."""

    repo: str
    options: ScheduleOptions = field(default_factory=ScheduleOptions)


@dataclass(frozen=True)
class UnsubscribeCommand:
    """`/digest unsubscribe owner/repo`."""

    repo: str


@dataclass(frozen=True)
class SubscriptionsCommand:
    """`/digest subscriptions`: what this chat gets, when next, and from where."""


@dataclass(frozen=True)
class SettingsCommand:
    """`/digest settings [owner/repo] OPTIONS`: change one subscription made in chat."""

    repo: str | None
    options: ScheduleOptions


TeamCommand = SubscribeCommand | UnsubscribeCommand | SubscriptionsCommand | SettingsCommand
Command = DigestCommand | ExplainCommand | HelpCommand | TeamCommand
# Who may run a command: anyone in the chat, or only those who may change what the chat gets
# (Slack: the channel's members or the configured managers; Telegram: the group's admins).
Who = Literal["anyone", "managers"]


@dataclass(frozen=True)
class CommandSpec:
    """One metadata record per command: its usage line, what it does, and who may run it."""

    usage: str
    summary: str
    who: Who = "anyone"


COMMANDS = (
    CommandSpec(
        "/digest [today|yesterday|YYYY-MM-DD|last] [owner/name]",
        "the day's digest (default: the latest day with commits)",
    ),
    CommandSpec(
        "/digest explain #6356 | explain <sha>",
        "one pull request or commit in depth, and what to watch",
    ),
    CommandSpec(
        "/digest subscribe owner/repo [daily|weekly] [at 09:00] [tz Europe/Berlin] "
        "[lang zh|en] [on mon-fri]",
        "post a repository's digest to this chat on a schedule",
        "managers",
    ),
    CommandSpec(
        "/digest unsubscribe owner/repo", "stop this chat's posts of a repository", "managers"
    ),
    CommandSpec("/digest subscriptions", "what this chat gets, when next, and from where"),
    CommandSpec(
        "/digest settings [owner/repo] [daily|weekly] [at …] [tz …] [lang …] [on …]",
        "change a subscription made in this chat",
        "managers",
    ),
    CommandSpec("/digest help", "this help"),
)
_RESTRICTED = " (channel members or configured managers; group admins in Telegram)"


def help_text() -> str:
    """The usage of every command, and how follow-ups work."""
    lines = [
        f"{spec.usage} — {spec.summary}" + (_RESTRICTED if spec.who == "managers" else "")
        for spec in COMMANDS
    ]
    lines.append("Reply in a digest's thread (or to any of my messages) to ask about a change.")
    return "\n".join(lines)


def parse_command(text: str) -> Command:
    """Parse the words after `/digest` (a leading `/digest` is accepted too)."""
    words = text.strip().split()
    if words and words[0].lower() in ("/digest", "digest"):
        words = words[1:]
    if not words:
        return DigestCommand()
    head = words[0].lower()
    if head in ("help", "-h", "--help", "?"):
        return HelpCommand()
    if head in ("explain", "/explain"):
        return _explain(words[1:])
    if head in _TEAM_WORDS:
        return _team(head, words[1:])
    return _digest(words)


def _explain(args: list[str]) -> ExplainCommand:
    if len(args) != 1:
        raise CommandError(
            "explain takes one pull request number or commit SHA, e.g. explain #6356"
        )
    ref = args[0]
    if match := _PR.match(ref):
        return ExplainCommand(pr_number=int(match.group(1)))
    if _SHA.match(ref):
        return ExplainCommand(sha=ref.lower())
    raise CommandError(f"{ref!r} is neither a pull request number (#6356) nor a commit SHA")


def _digest(args: list[str]) -> DigestCommand:
    day, repo = LAST, None
    for word in args:
        if _DATE.match(word) and day == LAST and word.lower() != LAST:
            day = word.lower()
        elif word.lower() == LAST:
            day = LAST
        elif _REPO.match(word) and repo is None:
            repo = word
        else:
            raise CommandError(f"I don't understand {word!r}")
    return DigestCommand(day=day, repo=repo)


def spec_of(command: Command) -> CommandSpec:
    """The metadata record of a parsed command."""
    words = {
        SubscribeCommand: "/digest subscribe ",
        UnsubscribeCommand: "/digest unsubscribe ",
        SubscriptionsCommand: "/digest subscriptions",
        SettingsCommand: "/digest settings ",
        ExplainCommand: "/digest explain ",
        HelpCommand: "/digest help",
    }
    start = words.get(type(command), "/digest [")
    return next(spec for spec in COMMANDS if spec.usage.startswith(start))


_TEAM_WORDS = ("subscribe", "unsubscribe", "subscriptions", "settings")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_DAY_SETS = {
    "weekdays": WEEKDAYS[:5],
    "weekends": WEEKDAYS[5:],
    "weekend": WEEKDAYS[5:],
    "everyday": WEEKDAYS,
}


def _team(head: str, args: list[str]) -> TeamCommand:
    repo, options = _options(args)
    if head == "subscriptions":
        if args:
            raise CommandError("subscriptions takes nothing more: /digest subscriptions")
        return SubscriptionsCommand()
    if head == "settings":
        if not options.given():
            raise CommandError(
                "settings needs something to change, e.g. /digest settings acme/api at 10:00"
            )
        return SettingsCommand(repo, options)
    if repo is None:
        raise CommandError(f"{head} needs a repository, e.g. /digest {head} acme/api")
    if head == "unsubscribe":
        if options.given():
            raise CommandError(
                "unsubscribe takes only the repository: /digest unsubscribe acme/api"
            )
        return UnsubscribeCommand(repo)
    return SubscribeCommand(repo, options)


def _options(args: list[str]) -> tuple[str | None, ScheduleOptions]:
    """The repository and the schedule options among a command's words; each said once."""
    repo, values, words = None, dict[str, Any](), iter(args)
    for word in words:
        low = word.lower()
        key, value = _option(low, words)
        if key is None and _REPO.match(word) and repo is None:
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
