"""The team features, wired: chat subscriptions, their commands, buttons, votes, home view."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.budget import DiffBudget
from bot.buttons import ButtonDesk
from bot.channels import ChatKey, TeamChannels
from bot.conversation import ChannelSetup
from bot.home import HomeBuilder
from bot.ports import CommitSource
from bot.storage.chat_store import SqlChatStore
from bot.storage.feedback_store import SqlVoteStore
from bot.storage.inbound_store import SqlInboundLog
from bot.storage.team_store import SqlSubscriptionStore
from bot.subscribe import TeamDesk
from bot.subscriptions import Subscription
from bot.team import GITHUB, ChatAuthority
from digestbot.wiring import Core


@dataclass
class TeamParts:
    """What the team features need, shared by the roles of one process."""

    store: SqlSubscriptionStore
    channels: TeamChannels
    desk: TeamDesk
    buttons: ButtonDesk
    home: HomeBuilder
    votes: SqlVoteStore
    authorities: dict[str, ChatAuthority]  # filled as each platform is added
    wake: list[Callable[[], None]] = field(default_factory=list)  # this process's clock, if any


def source_of(core: Core) -> Callable[[str], CommitSource]:
    """A subscription's repository spec as a source: `github:owner/name` is always GitHub."""

    def source(spec: str) -> CommitSource:
        if spec.startswith(GITHUB):
            return core.github(spec.removeprefix(GITHUB))
        return core.source(spec)

    return source


def team_parts(
    core: Core, files: tuple[Subscription, ...], setups: Mapping[ChatKey, ChannelSetup]
) -> TeamParts:
    """Build the stores, the desks and the home view over the core's database."""
    engine = core.store.engine
    store, votes = SqlSubscriptionStore(engine), SqlVoteStore(engine)

    channels = TeamChannels(setups, store, core.github)
    authorities: dict[str, ChatAuthority] = {}
    wake: list[Callable[[], None]] = []

    def changed() -> None:  # a change made here: this process's clock looks at once
        for nudge in wake:
            nudge()

    desk = TeamDesk(store, channels, files, core.github, authorities=authorities, changed=changed)
    buttons = ButtonDesk(
        core.engine,
        core.store,
        SqlChatStore(engine),
        core.answerer,
        votes=votes,
        seen=SqlInboundLog(engine),
        budget=DiffBudget(core.settings.budget.tokens_per_commit),
    )
    home = HomeBuilder(files, store, channels, core.store, core.links)
    return TeamParts(store, channels, desk, buttons, home, votes, authorities, wake)
