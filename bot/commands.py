"""The one `/digest` grammar every platform shares, parsed by a pure function."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from bot.days import LAST
from bot.errors import CommandError
from bot.schedule_options import ScheduleOptions, read_options

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
