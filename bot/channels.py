"""What each chat follows, live: the config file's subscriptions plus those made in chat."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace

from bot.chat import ChatTarget
from bot.conversation import ChannelSetup
from bot.ports import CommitSource
from bot.team import ChatSubscription, SubscriptionStore

_EMPTY = ChannelSetup({}, "UTC", "en")
_log = logging.getLogger(__name__)

ChatKey = tuple[str, str]  # (platform, channel): commands in any topic see the chat's repositories


class TeamChannels:
    """A `channels` callable for the conversation that also knows the chat's own subscriptions.

    `refresh` reloads them when the store's revision moved (one primary-key read otherwise), so
    a subscription made through another process is followed by the next command here.
    """

    def __init__(
        self,
        files: Mapping[ChatKey, ChannelSetup],
        store: SubscriptionStore,
        github: Callable[[str], CommitSource],
    ) -> None:
        self._files = dict(files)
        self._store = store
        self._github = github
        self._chats: dict[ChatKey, list[ChatSubscription]] = {}
        self._sources: dict[str, CommitSource] = {}  # kept: a GitHub source caches its lookups
        self._revision: int | None = None

    def __call__(self, target: ChatTarget) -> ChannelSetup:
        """The chat's repositories, zone and language (the config file's zone and language win)."""
        key = (target.platform, target.channel)
        setup = self._files.get(key)
        made = self._chats.get(key, [])
        if setup is None and made:
            first = made[0].subscription
            setup = ChannelSetup({}, first.tz, first.language)
        setup = setup or _EMPTY
        extra = {c.repo: self._source(c.repo) for c in made if c.repo not in setup.sources}
        return replace(setup, sources={**setup.sources, **extra}) if extra else setup

    def _source(self, repo: str) -> CommitSource:
        if repo not in self._sources:
            self._sources[repo] = self._github(repo)
        return self._sources[repo]

    def from_file(self, target: ChatTarget) -> ChannelSetup | None:
        """What the config file gives a chat, if anything."""
        return self._files.get((target.platform, target.channel))

    async def refresh(self) -> None:
        """Reload the chat subscriptions if any changed since the last look."""
        revision = await self._store.revision()
        if revision == self._revision:
            return
        chats: dict[ChatKey, list[ChatSubscription]] = {}
        for item in await self._store.chat_subscriptions():
            target = item.subscription.target
            chats.setdefault((target.platform, target.channel), []).append(item)
        self._chats, self._revision = chats, revision
        _log.info("chat subscriptions reloaded at revision %d", revision)
