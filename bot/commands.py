"""The one `/digest` grammar every platform shares, parsed by a pure function."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from bot.days import FIRST_DAY, LAST, LAST_DAY
from bot.errors import CommandError
from bot.i18n import text
from bot.schedule_options import ScheduleOptions, read_options

_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
# A configured name of a local repository (`NAME=PATH`, bot/subscriptions.py): no slash.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DATE = re.compile(r"^(today|yesterday|last|\d{4}-\d{2}-\d{2})$", re.IGNORECASE)
_PR = re.compile(r"^#?(\d{1,7})$")
_SHA = re.compile(r"^[0-9a-fA-F]{7,40}$")


@dataclass(frozen=True)
class DigestCommand:
    """`/digest [DATE] [owner/name or a configured name]`: build or recall a digest."""

    day: str = LAST
    repo: str | None = None


@dataclass(frozen=True)
class ExplainCommand:
    """`/digest explain #6356` or `explain <sha>`: one change in depth."""

    pr_number: int | None = None
    sha: str | None = None


@dataclass(frozen=True)
class HelpCommand:
    """`/digest help`; `/start` (Telegram's first message to a bot) greets before the help."""

    greet: bool = False


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
    """One metadata record per command: usage, what it does (per language), who may run it."""

    usage: str
    summary: str
    # Other languages than English: language → (usage, summary).
    localized: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    who: Who = "anyone"

    def words(self, language: str) -> tuple[str, str]:
        """The usage and summary in a language (English when it has none)."""
        return self.localized.get(language, (self.usage, self.summary))


_SUBSCRIBE = (
    "/digest subscribe owner/repo [daily|weekly] [at 09:00] [tz Europe/Berlin] "
    "[lang zh|en] [on mon-fri]"
)
_SETTINGS = "/digest settings [owner/repo] [daily|weekly] [at …] [tz …] [lang …] [on …]"
COMMANDS = (
    CommandSpec(
        "/digest [today|yesterday|YYYY-MM-DD|last] [repository]",
        "the day's digest (default: the latest day with commits)",
        {
            "zh": (
                "/digest [today|yesterday|YYYY-MM-DD|last] [仓库]",
                "某天的摘要（默认：最近有提交的一天）",
            )
        },
    ),
    CommandSpec(
        "/digest explain #6356 | explain <sha>",
        "one pull request or commit in depth, and what to watch",
        {
            "zh": (
                "/digest explain #6356 | explain <sha>",
                "深入解读一个 PR 或提交，以及需要关注的地方",
            )
        },
    ),
    CommandSpec(
        _SUBSCRIBE,
        "post a repository's digest to this chat on a schedule",
        {"zh": (_SUBSCRIBE, "按计划把仓库的摘要发到本聊天")},
        "managers",
    ),
    CommandSpec(
        "/digest unsubscribe owner/repo",
        "stop this chat's posts of a repository",
        {"zh": ("/digest unsubscribe owner/repo", "停止本聊天对该仓库的推送")},
        "managers",
    ),
    CommandSpec(
        "/digest subscriptions",
        "what this chat gets, when next, and from where",
        {"zh": ("/digest subscriptions", "本聊天订阅了什么、下次何时推送、由谁管理")},
    ),
    CommandSpec(
        _SETTINGS,
        "change a subscription made in this chat",
        {"zh": (_SETTINGS, "修改在本聊天中创建的订阅")},
        "managers",
    ),
    CommandSpec("/digest help", "this help", {"zh": ("/digest help", "显示本帮助")}),
)
_RESTRICTED = {
    "en": " (channel members or configured managers; group admins in Telegram)",
    "zh": "（频道成员或配置的管理员；Telegram 中为群管理员）",
}


def help_text(language: str = "en") -> str:
    """The usage of every command, and how follow-ups work, in the chat's language."""
    restricted = _RESTRICTED.get(language, _RESTRICTED["en"])
    lines = [
        " — ".join(spec.words(language)) + (restricted if spec.who == "managers" else "")
        for spec in COMMANDS
    ]
    lines.append(text(language, "chat_follow_up"))
    return "\n".join(lines)


def parse_command(value: str, language: str = "en") -> Command:
    """Parse the words after `/digest` (a leading `/digest` is accepted too).

    Errors are CommandErrors in `language`.
    """
    words = value.strip().split()
    if words and words[0].lower() in ("/digest", "digest"):
        words = words[1:]
    if not words:
        return DigestCommand()
    head = words[0].lower()
    if head in ("help", "-h", "--help", "?"):
        return HelpCommand()
    if head == "start":  # Telegram sends it when a person opens a chat with the bot
        return HelpCommand(greet=True)
    if head in ("explain", "/explain"):
        return _explain(words[1:], language)
    if head in _TEAM_WORDS:
        return _team(head, words[1:])
    return _digest(words, language)


def _explain(args: list[str], language: str) -> ExplainCommand:
    if len(args) != 1:
        raise CommandError(text(language, "chat_explain_one"))
    ref = args[0]
    if match := _PR.match(ref):
        return ExplainCommand(pr_number=int(match.group(1)))
    if _SHA.match(ref):
        return ExplainCommand(sha=ref.lower())
    raise CommandError(text(language, "chat_explain_what", ref=ref))


def _digest(args: list[str], language: str) -> DigestCommand:
    day, repo = LAST, None
    for word in args:
        if word.lower() == LAST:
            day = LAST
        elif _DATE.match(word) and day == LAST:
            day = _checked_day(word.lower(), language)
        elif _DATE.match(word):
            raise CommandError(text(language, "chat_unknown_word", word=word))
        elif (_REPO.match(word) or _NAME.match(word)) and repo is None:
            repo = word
        else:
            raise CommandError(text(language, "chat_unknown_word", word=word))
    return DigestCommand(day=day, repo=repo)


def _checked_day(word: str, language: str) -> str:
    """A date word as given, once it is a real day in the range a window can cover."""
    if word in ("today", "yesterday"):
        return word
    try:
        day = date.fromisoformat(word)
    except ValueError:
        raise CommandError(text(language, "chat_bad_date", word=word)) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise CommandError(
            text(language, "chat_date_range", word=word, first=FIRST_DAY, last=LAST_DAY)
        )
    return word


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


def _team(head: str, args: list[str]) -> TeamCommand:
    repo, options = read_options(args, lambda word: bool(_REPO.match(word)))
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
