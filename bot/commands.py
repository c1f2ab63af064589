"""The one `/digest` grammar every platform shares, parsed by a pure function."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.days import LAST
from bot.errors import CommandError

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


Command = DigestCommand | ExplainCommand | HelpCommand


@dataclass(frozen=True)
class CommandSpec:
    """One metadata record per command: its usage line and what it does."""

    usage: str
    summary: str


COMMANDS = (
    CommandSpec(
        "/digest [today|yesterday|YYYY-MM-DD|last] [owner/name]",
        "the day's digest (default: the latest day with commits)",
    ),
    CommandSpec(
        "/digest explain #6356 | explain <sha>",
        "one pull request or commit in depth, and what to watch",
    ),
    CommandSpec("/digest help", "this help"),
)


def help_text() -> str:
    """The usage of every command, and how follow-ups work."""
    lines = [f"{spec.usage} — {spec.summary}" for spec in COMMANDS]
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
