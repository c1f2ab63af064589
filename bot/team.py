"""Subscriptions a team makes in chat: their values, and the ports their store and platforms fill.

A chat subscription is an ordinary `Subscription` (one GitHub repository → the chat it was made
in) whose name is derived from (platform, chat, topic, repository): subscribing again after an
unsubscribe gets the same name, so the same post keys, and a day already posted is not posted
twice. Its repository is kept as `github:owner/name`, so it is read from GitHub whatever lies on
the server's disk under that relative path.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from pydantic import ValidationError

from bot.chat import ChatTarget
from bot.errors import CommandError
from bot.subscriptions import Subscription

GITHUB = "github:"
Origin = Literal["file", "chat"]


@dataclass(frozen=True)
class ChatSubscription:
    """A subscription made in chat and kept in the database."""

    subscription: Subscription
    repo: str  # `owner/name` as GitHub spells it
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        """The subscription's name (jobs, post keys, logs)."""
        return self.subscription.name


@dataclass(frozen=True)
class Listed:
    """One subscription a chat gets, and who manages it."""

    subscription: Subscription
    repo: str
    origin: Origin


class SubscriptionStore(Protocol):
    """Chat subscriptions in the database; every change bumps one revision number."""

    async def revision(self) -> int:
        """A number that changes whenever a chat subscription is added, changed or removed."""
        ...

    async def chat_subscriptions(self, target: ChatTarget | None = None) -> list[ChatSubscription]:
        """The subscriptions made in one chat, or in every chat."""
        ...

    async def get(self, name: str) -> ChatSubscription | None:
        """One subscription by name, or None when it was removed."""
        ...

    async def save(self, item: ChatSubscription) -> None:
        """Add a subscription, or replace the one of the same name."""
        ...

    async def remove(self, name: str) -> bool:
        """Remove a subscription; False when there was none."""
        ...


class ChatAuthority(Protocol):
    """Who may change what a chat gets; each platform adapter implements it."""

    async def refusal(self, target: ChatTarget, user: str) -> str | None:
        """None when `user` may change `target`'s subscriptions, else the reason, in one line."""
        ...


def chat_name(target: ChatTarget, repo: str) -> str:
    """The stable name of a chat subscription (a valid subscription name, 17 characters)."""
    key = f"{target.platform}:{target.channel}:{target.topic or ''}:{repo.lower()}"
    return "chat-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def repo_of(spec: str) -> str:
    """A subscription's repository as people write it (`github:acme/api` → `acme/api`)."""
    return spec.removeprefix(GITHUB)


def destination(target: ChatTarget) -> dict[str, object]:
    """The Subscription fields that point at a chat."""
    if target.platform == "slack":
        return {"slack_channel": target.channel}
    topic = int(target.topic) if target.topic else None
    return {"telegram_chat": target.channel, "telegram_topic": topic}


def build_subscription(values: dict[str, object]) -> Subscription:
    """A Subscription from chat values; a value it refuses is a CommandError in one line."""
    try:
        return Subscription.model_validate(values)
    except ValidationError as exc:
        said = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise CommandError(said) from None


_GITHUB_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def shown_repo(spec: str) -> str:
    """A repository as a workspace may see it: `owner/name`, a given name, or a folder's name.

    A server path is never shown: everyone in the workspace can open the home tab.
    """
    spec = repo_of(spec)
    name, sep, _path = spec.partition("=")
    if sep and "/" not in name:
        return name
    return spec if _GITHUB_NAME.match(spec) else spec.rstrip("/").rsplit("/", 1)[-1]
