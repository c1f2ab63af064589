"""A team rig: the core, the team desks and a live clock over one database, as the service wires
them, with the GitHub emulator behind the subscriptions and a settable clock."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.budget import DiffBudget
from bot.buttons import ButtonDesk
from bot.channels import ChatKey, TeamChannels
from bot.chat import ChatPoster
from bot.conversation import ChannelSetup, Conversation
from bot.daily import DailyPoster, DailyResult
from bot.delivery import NoReportLinks, Publisher, ReportLinks
from bot.followup import StoredAnswerer
from bot.home import HomeBuilder
from bot.models import Commit
from bot.ports import CommitSource
from bot.sources.github import GitHubSource, RetryPolicy
from bot.storage.chat_store import SqlChatStore
from bot.storage.delivery_store import SqlDeliveryLog
from bot.storage.feedback_store import SqlVoteStore
from bot.storage.inbound_store import SqlInboundLog
from bot.storage.sql_store import SqlStore
from bot.storage.team_store import SqlSubscriptionStore
from bot.subscribe import TeamDesk
from bot.subscriptions import Subscription
from bot.team import GITHUB, ChatAuthority
from scheduler.clock import DailyClock
from scheduler.live import LiveSchedule
from tests.chat_fixtures import engine_for
from tests.emulators.github_api import GitHubEmulator
from tests.factories import change, commit

BERLIN = ZoneInfo("Europe/Berlin")


class Now:
    """A settable clock, shared by everything in the rig."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026 in Berlin, in UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def days_of_commits(first: date, days: int, repo: str = "acme/app") -> list[Commit]:
    """Per day: a feature (rated high), a fix and a docs page, at noon in Berlin."""
    out = []
    for n in range(days):
        noon = datetime.combine(first + timedelta(days=n), datetime.min.time(), BERLIN)
        noon += timedelta(hours=12)
        for k, (title, path, lines) in enumerate(
            (("feat(api): endpoint", "src/api/e.py", 160), ("fix: edge", "src/c.py", 12),
             ("docs: page", "docs/p.md", 5))
        ):  # fmt: skip
            out.append(
                commit(
                    f"{title} {n}",
                    change(path.replace(".", f"{n}."), lines, hunks=3),
                    sha=f"{n:02x}{k:02x}" + "c" * 36,
                    when=(noon + timedelta(minutes=k)).astimezone(UTC),
                    repo=repo,
                )
            )
    return out


class TeamRig:
    """Everything a web process and a clock process share, in one test."""

    def __init__(
        self,
        store: SqlStore,
        github: GitHubEmulator,
        now: Now,
        *,
        files: tuple[Subscription, ...] = (),
        setups: Mapping[ChatKey, ChannelSetup] | None = None,
        links: ReportLinks | None = None,
    ) -> None:
        self.store, self.github, self.now = store, github, now
        engine = store.engine
        self.subscriptions = SqlSubscriptionStore(engine)
        self.votes = SqlVoteStore(engine)
        self.chat = SqlChatStore(engine)
        self.seen = SqlInboundLog(engine)
        self.engine = engine_for(store)
        self.authorities: dict[str, ChatAuthority] = {}
        self.channels = TeamChannels(setups or {}, self.subscriptions, self.source)
        self.links = links or NoReportLinks()
        self.publisher = Publisher(
            SqlDeliveryLog(engine), self.chat, owner="rig", links=self.links, now=now
        )
        self.desk = TeamDesk(
            self.subscriptions, self.channels, files, self.source,
            authorities=self.authorities, now=now,
        )  # fmt: skip
        self.buttons = ButtonDesk(
            self.engine, store, self.chat, StoredAnswerer(),
            votes=self.votes, seen=self.seen, budget=DiffBudget(), now=now,
        )  # fmt: skip
        self.home = HomeBuilder(
            files, self.subscriptions, self.channels, store, self.links, now=now
        )
        self.posters: dict[str, ChatPoster] = {}
        self.daily = DailyPoster(self.engine, self.publisher, self.spec_source, self.posters)
        self.clock = DailyClock([], self.run, now=now)
        self.live = LiveSchedule(self.subscriptions, self.clock, now=now)

    def source(self, name: str) -> CommitSource:
        """GitHub, as the service reads a chat subscription's repository."""
        retry = RetryPolicy(attempts=1, backoff_seconds=0)
        return GitHubSource(name, self.store, base_url=self.github.url, retry=retry)

    def spec_source(self, spec: str) -> CommitSource:
        return self.source(spec.removeprefix(GITHUB))

    def conversation(self) -> Conversation:
        return Conversation(
            self.engine, self.store, self.chat, self.channels, StoredAnswerer(),
            publisher=self.publisher, now=self.now, team=self.desk,
        )  # fmt: skip

    async def run(self, subscription: Subscription, fired_on: date) -> list[DailyResult]:
        return await self.daily.run(subscription, fired_on)

    async def poll(self) -> None:
        """The clock process looks at the database; any catch-up it starts runs to the end."""
        for task in await self.live.poll():
            await task

    def next_fire(self, name: str) -> datetime | None:
        """When the clock will fire a subscription's job next (after now)."""
        job = self.clock.scheduler().get_job(name)
        if job is None:
            return None
        found = job.trigger.get_next_fire_time(None, self.now() + timedelta(seconds=1))
        return found.astimezone(UTC) if found else None

    async def fire(self, name: str) -> None:
        """The job's time came: what APScheduler calls."""
        job = self.clock.scheduler().get_job(name)
        assert job is not None, f"no job for {name}"
        await job.func(*job.args)
