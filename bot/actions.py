"""Buttons on every analysis: their neutral values, the press event, and how a presser is answered.

Every entry in a digest's thread carries four actions: Explain more, Show diff, 👍 and 👎. Each
renderer draws them in its own way (Block Kit buttons, a Telegram inline keyboard); a press comes
back as an `ActionEvent` naming the message pressed (linked in the store to its digest and
commits, so a press works after a restart) and a SHA prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from bot.chat import ChatPoster, ChatTarget, MessageRef

ActionKind = Literal["explain", "diff", "up", "down"]
KINDS: tuple[ActionKind, ...] = ("explain", "diff", "up", "down")
_LABELS: dict[str, dict[ActionKind, str]] = {
    "en": {"explain": "Explain more", "diff": "Show diff", "up": "👍", "down": "👎"},
    "zh": {"explain": "详细解释", "diff": "查看改动", "up": "👍", "down": "👎"},
}


@dataclass(frozen=True)
class Action:
    """One button: what it does, the commit it is about, and its label."""

    kind: ActionKind
    sha: str
    short_sha: str
    label: str


def entry_actions(sha: str, short_sha: str, language: str) -> tuple[Action, ...]:
    """The four buttons of one analysis, labelled in the digest's language."""
    labels = _LABELS.get(language, _LABELS["en"])
    return tuple(Action(kind, sha, short_sha, labels[kind]) for kind in KINDS)


@dataclass(frozen=True)
class ActionEvent:
    """Someone pressed a button on one of our messages."""

    target: ChatTarget
    user: str
    message: MessageRef
    kind: ActionKind
    sha: str  # the commit, or a prefix of its SHA
    event_id: str


@dataclass(frozen=True)
class PrivateLine:
    """Where private messages to the presser go (their `private` flag set)."""

    poster: ChatPoster
    target: ChatTarget
    thread: MessageRef | None = None


class Presser(Protocol):
    """How a platform answers the person who pressed; the adapter of each platform fills it."""

    async def acknowledge(self, text: str, *, alert: bool = False) -> None:
        """A short private answer (Telegram: the callback's answer, at most once).

        An empty text says nothing but that the press was taken.
        """
        ...

    async def private_line(self) -> PrivateLine | None:
        """Where private messages reach the presser, or None when they cannot (yet) be reached.

        A platform may probe (Telegram: a chat action); when it returns None it has told the
        presser, in its own words, how to make a private line possible.
        """
        ...
