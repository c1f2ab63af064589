"""Subscriptions: which repositories go to which chat, when, in what language; errors name lines."""

from __future__ import annotations

import re
from datetime import time as wall_time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator

from bot.chat import ChatTarget
from bot.config import FilterConfig, StrictModel, read_toml
from bot.errors import ConfigError
from bot.models import Severity

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# Words `/digest` reads as a day or a command: a repository named so could not be asked for.
_RESERVED = frozenset({"today", "yesterday", "last", "help", "explain"})


class RepoName(StrictModel):
    """A local repository under a name of its own: `{path = "/srv/git/tools", name = "tools"}`."""

    path: str = Field(min_length=1)
    name: str = Field(pattern=_NAME)

    @field_validator("name")
    @classmethod
    def _not_a_command_word(cls, value: str) -> str:
        return usable_name(value)

    @property
    def spec(self) -> str:
        """The `NAME=PATH` form the sources and `--repo` take."""
        return f"{self.name}={self.path}"


def _repo_spec(table: dict[str, object]) -> str:
    """A `{path, name}` table as `NAME=PATH`; its errors in one line (the `repos` key's)."""
    try:
        return RepoName.model_validate(table).spec
    except ValidationError as exc:
        said = [
            f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise ValueError("; ".join(said)) from None


def split_repo_spec(spec: str) -> tuple[str | None, str]:
    """`NAME=PATH` → (NAME, PATH); anything else (`owner/name`, a path) → (None, spec).

    A name has no slash, so `/srv/a=b` stays a path.
    """
    name, sep, path = spec.partition("=")
    if sep and path and re.fullmatch(_NAME, name):
        return usable_name(name), path
    return None, spec


def usable_name(name: str) -> str:
    """A repository name `/digest` can be asked for: not a day or command word."""
    if name.lower() in _RESERVED:
        raise ConfigError(
            f"a repository cannot be named {name!r}: /digest reads it as a day or a command"
        )
    return name


class Subscription(StrictModel):
    """One daily (or weekly) post: repositories → a Slack channel or a Telegram chat (and topic).

    A weekly one posts the seven days before its day, once a week: its `days` is that one day.
    """

    name: str = Field(pattern=_NAME)
    repos: tuple[str, ...] = Field(min_length=1)
    slack_channel: str | None = None
    telegram_chat: str | None = None
    telegram_topic: int | None = None
    time: str = "09:00"
    tz: str = "UTC"
    days: tuple[str, ...] = WEEKDAYS
    language: str = Field(default="en", pattern="^(zh|en)$")
    lowest_reply: str = Field(default="medium", pattern="^(high|medium|low)$")
    skip_empty: bool = True
    filters: FilterConfig = Field(default_factory=FilterConfig)
    cadence: str = Field(default="daily", pattern="^(daily|weekly)$")

    @model_validator(mode="before")
    @classmethod
    def _weekly_on_monday(cls, data: object) -> object:
        # A weekly digest posts on one day: Monday unless `days` names another.
        if isinstance(data, dict) and data.get("cadence") == "weekly" and "days" not in data:
            return {**data, "days": ("mon",)}
        return data

    @field_validator("repos", mode="before")
    @classmethod
    def _named_repos(cls, value: object) -> object:
        # A table names a local repository; it is kept as the `NAME=PATH` string the sources
        # take, so every consumer of `repos` reads one form.
        if not isinstance(value, list | tuple):
            return value
        return tuple(_repo_spec(item) if isinstance(item, dict) else item for item in value)

    @field_validator("telegram_chat", mode="before")
    @classmethod
    def _chat_id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @field_validator("time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"time must be HH:MM on a 24-hour clock, not {value!r}")
        return value

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [d for d in value if d.lower() not in WEEKDAYS]
        if bad or not value:
            raise ValueError(f"days must be some of {', '.join(WEEKDAYS)}; got {bad or 'none'}")
        return tuple(d.lower() for d in value)

    @model_validator(mode="after")
    def _one_destination(self) -> Subscription:
        if (self.slack_channel is None) == (self.telegram_chat is None):
            raise ValueError("set exactly one of slack_channel or telegram_chat")
        if self.telegram_topic is not None and self.telegram_chat is None:
            raise ValueError("telegram_topic needs telegram_chat")
        if self.cadence == "weekly" and len(self.days) != 1:
            raise ValueError('a weekly digest posts on one day: set days = ["mon"] (or on mon)')
        return self

    @property
    def target(self) -> ChatTarget:
        """Where this subscription posts."""
        if self.slack_channel is not None:
            return ChatTarget("slack", self.slack_channel)
        topic = str(self.telegram_topic) if self.telegram_topic is not None else None
        return ChatTarget("telegram", str(self.telegram_chat), topic)

    @property
    def at(self) -> wall_time:
        """The local posting time."""
        hour, minute = self.time.split(":")
        return wall_time(int(hour), int(minute))

    @property
    def lowest(self) -> Severity:
        """The lowest severity that gets a thread reply of its own."""
        return Severity(self.lowest_reply)


class _SubscriptionFile(StrictModel):
    subscription: tuple[Subscription, ...] = ()

    @model_validator(mode="after")
    def _unique_names(self) -> _SubscriptionFile:
        names = [s.name for s in self.subscription]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"subscription names must be unique: {', '.join(twice)}")
        return self


def load_subscriptions(path: Path) -> tuple[Subscription, ...]:
    """The `[[subscription]]` tables of a config file; other tables belong to the settings."""
    source, raw = read_toml(path)
    try:
        return _SubscriptionFile.model_validate(
            {"subscription": raw.get("subscription", [])}
        ).subscription
    except ValidationError as exc:
        lines = [_describe(path, source, err["loc"], err["msg"]) for err in exc.errors()]
        raise ConfigError("invalid subscriptions:\n  " + "\n  ".join(lines)) from None


def _describe(path: Path, source: str, loc: tuple[int | str, ...], message: str) -> str:
    keys = [str(k) for k in loc if not isinstance(k, int)][1:]
    index = next((k for k in loc if isinstance(k, int)), None)
    line = line_of(source, index, keys)
    where = f"{path}:{line}" if line else str(path)
    name = f"subscription[{index}]" if index is not None else "subscription"
    dotted = ".".join([name, *keys])
    return f"{where}: {dotted}: {message.removeprefix('Value error, ')}"


def line_of(source: str, index: int | None, keys: list[str]) -> int | None:
    """The 1-based line of a key in the index-th `[[subscription]]` table (or of the table)."""
    lines = source.splitlines()
    headers = [n for n, text in enumerate(lines) if text.strip() == "[[subscription]]"]
    if index is None or index >= len(headers):
        return None
    start = headers[index]
    end = headers[index + 1] if index + 1 < len(headers) else len(lines)
    for key in reversed(keys):
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(start + 1, end):
            if pattern.match(lines[number]):
                return number + 1
    return start + 1
