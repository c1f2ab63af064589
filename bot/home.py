"""An app's home: what a workspace is subscribed to, and its latest digests with their pages."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime

from bot.channels import TeamChannels
from bot.chat import ChatTarget
from bot.delivery import ReportLinks
from bot.document import stats_line
from bot.ports import DigestArchive
from bot.subscribe import describe_schedule
from bot.subscriptions import Subscription
from bot.team import Origin, SubscriptionStore, shown_repo

LATEST = 7  # digests shown


@dataclass(frozen=True)
class HomeSubscription:
    """One subscription: the repository, where it posts, when, and who manages it."""

    repo: str
    target: ChatTarget
    schedule: str
    origin: Origin


@dataclass(frozen=True)
class HomeDigest:
    """One recent digest: its repository and day, its counts, and its page (when published)."""

    repo: str
    day: date
    stats: str
    url: str | None


@dataclass(frozen=True)
class HomeView:
    """Everything a home tab shows."""

    subscriptions: tuple[HomeSubscription, ...]
    digests: tuple[HomeDigest, ...]


class HomeBuilder:
    """Builds a platform's home view from the config file, the store and the archive."""

    def __init__(
        self,
        files: tuple[Subscription, ...],
        store: SubscriptionStore,
        channels: TeamChannels,
        archive: DigestArchive,
        links: ReportLinks,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._files = files
        self._store = store
        self._channels = channels
        self._archive = archive
        self._links = links
        self._now = now

    async def view(self, platform: str, chats: Collection[str] | None = None) -> HomeView:
        """The platform's subscriptions (file first) and its repositories' latest digests.

        With `chats`, only the subscriptions posting to those chats (the viewer's own: a
        private channel's repositories and signed page links stay with its members).
        """
        subs = await self._subscriptions(platform)
        if chats is not None:
            subs = [s for s in subs if s.target.channel in chats]
        repos = {s.repo for s in subs} | self._file_repos(platform, chats)
        found = [
            d for repo in sorted(repos) for d in await self._archive.list_summaries(repo, LATEST)
        ]
        found.sort(key=lambda d: (d.day, d.repo), reverse=True)
        digests = tuple(
            HomeDigest(d.repo, d.day, stats_line(d), self._links.digest_url(d))
            for d in found[:LATEST]
        )
        return HomeView(tuple(subs), digests)

    async def _subscriptions(self, platform: str) -> list[HomeSubscription]:
        now = self._now()
        listed = [
            HomeSubscription(shown_repo(spec), s.target, describe_schedule(s, now), "file")
            for s in self._files
            if s.target.platform == platform
            for spec in s.repos
        ]
        for item in await self._store.chat_subscriptions():
            s = item.subscription
            if s.target.platform == platform:
                when = describe_schedule(s, now)
                listed.append(HomeSubscription(item.repo, s.target, when, "chat"))
        return listed

    def _file_repos(self, platform: str, chats: Collection[str] | None) -> set[str]:
        """The names the config file's repositories have in digests (as their sources say)."""
        names: set[str] = set()
        for s in self._files:
            shown = s.target.platform == platform and (chats is None or s.target.channel in chats)
            setup = self._channels.from_file(s.target) if shown else None
            names |= set(setup.sources) if setup else set()
        return names
