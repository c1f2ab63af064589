"""The one `/digest` grammar every platform shares, parsed by a pure function."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from bot.days import FIRST_DAY, LAST, LAST_DAY
from bot.errors import CommandError
from bot.i18n import text

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
    """`/digest help`."""


Command = DigestCommand | ExplainCommand | HelpCommand


@dataclass(frozen=True)
class CommandSpec:
    """One metadata record per command: its usage line and what it does, in each language."""

    usage: str
    summary: str
    # Other languages than English: language → (usage, summary).
    localized: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def words(self, language: str) -> tuple[str, str]:
        """The usage and summary in a language (English when it has none)."""
        return self.localized.get(language, (self.usage, self.summary))


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
    CommandSpec("/digest help", "this help", {"zh": ("/digest help", "显示本帮助")}),
)


def help_text(language: str = "en") -> str:
    """The usage of every command, and how follow-ups work, in the chat's language."""
    lines = [" — ".join(spec.words(language)) for spec in COMMANDS]
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
    if head in ("explain", "/explain"):
        return _explain(words[1:], language)
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
