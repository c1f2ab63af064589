"""A team runs its digests from Slack, end to end through slack-bolt/slack_sdk and the emulators:
subscribe, the slot posts, settings move it, unsubscribe stops it; refusals; the file's own."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime

import httpx
import pytest
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.routing import Route

from adapters.pacing import Pacer
from adapters.slack.app import build_app, http_endpoint, slack_client
from adapters.slack.team import SlackMembership
from bot.chat import ChatTarget
from bot.conversation import ChannelSetup
from bot.storage.sql_store import SqlStore
from bot.subscriptions import Subscription
from bot.team import chat_name
from tests.emulators.github_api import GitHubEmulator
from tests.emulators.slack_api import BOT_USER, SlackEmulator
from tests.factories import ListSource
from tests.team_fixtures import Now, TeamRig, berlin, days_of_commits
from tests.test_slack import command_body, settled, signed
from tests.test_slack_delivery import poster

CHANNEL = "C0DIGEST"  # the channel tests.test_slack's bodies name
TARGET = ChatTarget("slack", CHANNEL)
NAME = chat_name(TARGET, "acme/app")
SECRET = "signing-secret"


class SlackTeam:
    """A Bolt app over the team rig, reached through its signed HTTP endpoint."""

    def __init__(self, rig: TeamRig, slack: SlackEmulator, http: httpx.AsyncClient) -> None:
        self.rig, self.slack, self.http = rig, slack, http

    async def command(self, text: str, user: str = "U1") -> None:
        body = command_body(text, user=user, trigger=f"T-{time.monotonic_ns()}")
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        answer = await self.http.post(
            "/slack/events", content=body, headers={**form, **signed(body)}
        )
        assert answer.status_code == 200
        await settled()

    def said(self, user: str | None = None) -> list[str]:
        """What the bot said in the channel (user=None) or to one user only."""
        return [p.all_text() for p in self.slack.posted if p.channel == CHANNEL and p.user == user]


def app_for(rig: TeamRig, slack: SlackEmulator) -> AsyncApp:
    client = slack_client(slack.token, slack.api_url)
    rig.authorities["slack"] = SlackMembership(client)
    rig.posters["slack"] = poster(slack)
    seen = rig.seen
    conversation = rig.conversation()
    return build_app(
        conversation, client, SECRET, Pacer([]), seen, buttons=rig.buttons, home=rig.home
    )


@pytest.fixture
def now() -> Now:
    return Now(berlin(26, 15))  # a Thursday afternoon in Berlin


@pytest.fixture
def github() -> Iterator[GitHubEmulator]:
    with GitHubEmulator() as emulator:
        emulator.add_repo("acme/app", days_of_commits(date(2026, 11, 25), 4))
        emulator.add_repo("acme/secret", days_of_commits(date(2026, 11, 25), 1), private=True)
        yield emulator


@pytest.fixture
async def team(
    store: SqlStore, slack: SlackEmulator, github: GitHubEmulator, now: Now
) -> AsyncIterator[SlackTeam]:
    slack.members[CHANNEL] = ["U1", "U2", BOT_USER]
    rig = TeamRig(store, github, now)
    web = Starlette(
        routes=[Route("/slack/events", http_endpoint(app_for(rig, slack)), methods=["POST"])]
    )
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://digestbot") as http:
        yield SlackTeam(rig, slack, http)


def roots(slack: SlackEmulator) -> list[str]:
    return [
        p.all_text()
        for p in slack.ours(CHANNEL)
        if p.thread_ts is None and "acme/app*" in p.all_text()
    ]


async def test_subscribe_post_move_unsubscribe_from_the_channel(team: SlackTeam, now: Now) -> None:
    rig = team.rig
    await team.command("subscribe acme/app at 09:00 tz Europe/Berlin")
    assert team.said()[-1] == (
        "Subscribed this chat to acme/app: daily at 09:00 Europe/Berlin on every day, in en; "
        "next: Fri 2026-11-27 09:00."
    )
    await rig.poll()  # the clock process follows the database
    assert rig.next_fire(NAME) == berlin(27, 9)
    now.moment = berlin(27, 9)
    await rig.fire(NAME)  # the next slot posts yesterday's digest
    assert [r.splitlines()[0] for r in roots(team.slack)] == ["*acme/app* — 2026-11-26"]

    await team.command("settings acme/app at 10:30", user="U2")
    assert team.said()[-1] == (
        "Changed acme/app: daily at 10:30 Europe/Berlin on every day, in en; "
        "next: Fri 2026-11-27 10:30."
    )
    current = await rig.subscriptions.get(NAME)
    assert current is not None
    stale = Subscription.model_validate({**current.subscription.model_dump(), "time": "09:00"})
    await rig.poll()
    assert rig.next_fire(NAME) == berlin(27, 10, 30)  # the slot moved
    now.moment = berlin(27, 10, 30)
    await rig.fire(NAME)  # today's day was posted at 09:00: the moved slot does not repeat it
    assert len(roots(team.slack)) == 1
    now.moment = berlin(28, 9)
    await rig.live._fire(stale)  # the old time comes (a job not yet moved): nothing posts
    assert len(roots(team.slack)) == 1
    now.moment = berlin(28, 10, 30)
    await rig.fire(NAME)
    assert [r.splitlines()[0] for r in roots(team.slack)][-1] == "*acme/app* — 2026-11-27"

    await team.command("unsubscribe acme/app")
    assert team.said()[-1] == "Unsubscribed this chat from acme/app: no more posts."
    now.moment = berlin(29, 10, 30)
    await rig.fire(NAME)  # the job fires before the clock saw the change: nothing posts
    await rig.poll()
    assert rig.next_fire(NAME) is None
    assert len(roots(team.slack)) == 2


async def test_subscriptions_lists_what_the_chat_gets_when_and_from_where(
    store: SqlStore, slack: SlackEmulator, github: GitHubEmulator, now: Now
) -> None:
    slack.members[CHANNEL] = ["U1"]
    backend = Subscription.model_validate(
        {"name": "backend", "repos": ["acme/api"], "slack_channel": CHANNEL, "time": "08:00",
         "tz": "Europe/Paris", "days": ["mon", "tue", "wed", "thu", "fri"]}
    )  # fmt: skip
    setups = {
        ("slack", CHANNEL): ChannelSetup(
            {"acme/api": ListSource("acme/api", [])}, "Europe/Paris", "en"
        )
    }
    rig = TeamRig(store, github, now, files=(backend,), setups=setups)
    web = Starlette(
        routes=[Route("/slack/events", http_endpoint(app_for(rig, slack)), methods=["POST"])]
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url="http://d"
    ) as http:
        team = SlackTeam(rig, slack, http)
        await team.command("subscribe acme/app weekly on fri at 16:00")
        await team.command("subscriptions")
        await team.command("unsubscribe acme/api")
        await team.command("settings acme/api at 09:00")
    listing, refused, refused_again = team.said("U1")
    assert listing.splitlines() == [
        "This chat gets:",
        "• acme/api — daily at 08:00 Europe/Paris on mon,tue,wed,thu,fri, in en; "
        "next: Fri 2026-11-27 08:00 — from the config file (subscription 'backend')",
        "• acme/app — weekly at 16:00 Europe/Paris on fri, in en; next: Fri 2026-11-27 16:00 — "
        "made in chat (change: /digest settings acme/app …)",
    ]  # a chat subscription takes the chat's zone unless told otherwise
    for said in (refused, refused_again):
        assert said.startswith(
            "acme/api comes to this chat from the config file (subscription 'backend')"
        )


async def test_someone_outside_the_channel_is_refused_privately(team: SlackTeam) -> None:
    await team.command("subscribe acme/app", user="U9")
    assert team.said() == []  # nothing said in the channel
    assert team.said("U9") == [
        "You can't change what this chat gets: only members of this channel can; join it first."
    ]
    assert await team.rig.subscriptions.chat_subscriptions() == []
    await team.command("subscriptions", user="U9")  # reading is for anyone
    assert team.said("U9")[-1].startswith("This chat gets no digests yet")


async def test_a_member_on_a_later_page_of_a_big_channel_may_subscribe(team: SlackTeam) -> None:
    team.slack.members[CHANNEL] = [f"U{n:04d}" for n in range(450)] + ["U9"]  # 3 pages of 200
    await team.command("subscribe acme/app", user="U9")
    assert len(await team.rig.subscriptions.chat_subscriptions()) == 1
    assert not any(line.startswith("You can't") for line in team.said("U9"))


async def test_only_configured_managers_and_their_groups_may_when_set(
    team: SlackTeam, slack: SlackEmulator
) -> None:
    slack.usergroups["S0LEADS"] = ["U2"]
    client = slack_client(slack.token, slack.api_url)
    team.rig.authorities["slack"] = SlackMembership(client, ("U7", "S0LEADS"))
    await team.command("subscribe acme/app", user="U1")  # a member, but not a manager
    assert team.said("U1") == [
        "You can't change what this chat gets: only the people this bot's operators named as "
        "managers can."
    ]
    await team.command("subscribe acme/app", user="U2")  # in the managers' user group
    assert team.said()[-1].startswith("Subscribed this chat to acme/app")


async def test_a_repository_the_bot_cannot_read_is_refused_with_the_reason(team: SlackTeam) -> None:
    await team.command("subscribe acme/secret")  # private, and the bot has no token
    await team.command("subscribe nobody/nothing")
    await team.command("subscribe acme/app at 9am")
    assert team.said("U1") == [
        "I can't subscribe to acme/secret: GitHub repository acme/secret not found (or the token "
        "cannot see it)",
        "I can't subscribe to nobody/nothing: GitHub repository nobody/nothing not found (or the "
        "token cannot see it)",
        "the time must be HH:MM on a 24-hour clock, e.g. at 09:00, not '9am'",
    ]
    assert await team.rig.subscriptions.chat_subscriptions() == []


async def test_a_command_in_another_process_reaches_the_clock_by_its_poll(
    store: SqlStore, team: SlackTeam, github: GitHubEmulator, now: Now
) -> None:
    clock_side = TeamRig(store, github, now)  # another process: its own objects, one database
    await clock_side.poll()
    await team.command("subscribe acme/app at 18:00")  # the chat has no zone yet: UTC
    assert clock_side.next_fire(NAME) is None  # not until it polls
    await clock_side.poll()
    assert clock_side.next_fire(NAME) == datetime(2026, 11, 26, 18, tzinfo=UTC)


async def test_a_channel_without_the_bot_gets_no_subscription(
    team: SlackTeam, slack: SlackEmulator
) -> None:
    client = slack_client(slack.token, slack.api_url)
    team.rig.authorities["slack"] = SlackMembership(client, ("U1",))  # no member list needed
    slack.not_in.add(CHANNEL)
    body = command_body("subscribe acme/app", user="U1", response_url=slack.response_url("T-9"))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    await team.http.post("/slack/events", content=body, headers={**form, **signed(body)})
    await settled()
    assert "invite me with `/invite @digestbot`" in slack.responses[-1]["text"]
    assert await team.rig.subscriptions.chat_subscriptions() == []  # taken back
