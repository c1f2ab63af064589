"""The buttons on every analysis, and App Home, through slack-bolt against the Slack emulator:
signed block_actions payloads on the interactivity endpoint, each button doing its thing once."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from adapters.slack.app import http_endpoint
from adapters.slack.render import MESSAGE_CHARS, SECTION_CHARS
from adapters.web.links import LinkSigner, SignedReportLinks, page_url
from adapters.web.routes import ReportRoutes
from bot.chat import ChatTarget
from bot.days import DayWindow
from bot.delivery import post_key
from bot.feedback import Tally
from bot.models import RepoDigest
from bot.storage.sql_store import SqlStore
from tests.emulators.github_api import GitHubEmulator
from tests.emulators.loopback import Fault
from tests.emulators.slack_api import BOT_USER, Posted, SlackEmulator
from tests.factories import ListSource, change, commit
from tests.team_fixtures import Now, TeamRig, berlin, days_of_commits
from tests.test_slack import event_body, settled, signed
from tests.test_slack_delivery import poster
from tests.test_team_slack import CHANNEL, SlackTeam, app_for

TARGET = ChatTarget("slack", CHANNEL)
SIGNER = LinkSigner(b"k" * 32)
PUBLIC = "https://digest.example"


@pytest.fixture
def now() -> Now:
    return Now(berlin(27, 9, 30))


@pytest.fixture
def github() -> Iterator[GitHubEmulator]:
    with GitHubEmulator() as emulator:
        emulator.add_repo("acme/app", days_of_commits(date(2026, 11, 24), 3))
        yield emulator


def rig_for(store: SqlStore, github: GitHubEmulator, now: Now) -> TeamRig:
    return TeamRig(store, github, now, links=SignedReportLinks(PUBLIC, SIGNER))


@pytest.fixture
async def team(
    store: SqlStore, slack: SlackEmulator, github: GitHubEmulator, now: Now
) -> AsyncIterator[SlackTeam]:
    slack.members[CHANNEL] = ["U1", "U2", BOT_USER]
    rig = rig_for(store, github, now)
    async with serve(rig, slack) as http:
        yield SlackTeam(rig, slack, http)


@contextlib.asynccontextmanager
async def serve(rig: TeamRig, slack: SlackEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """The app over the rig behind its signed endpoint, and a client for it."""
    endpoint = http_endpoint(app_for(rig, slack))
    web = Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://digestbot") as http:
        yield http


async def posted_day(
    rig: TeamRig, slack: SlackEmulator, source: ListSource | None = None
) -> RepoDigest:
    """A day's digest posted to the channel, as a subscription's slot would."""
    src = source or rig.source("acme/app")
    digest = await rig.engine.build(src, DayWindow(date(2026, 11, 26), "Europe/Berlin"), "en")
    await rig.publisher.publish(
        TARGET, digest, poster(slack), key=post_key("daily", TARGET, digest)
    )
    return digest


def press_body(message: Posted, kind: str, user: str) -> str:
    button = next(b for b in message.buttons() if b["action_id"] == f"digest_{kind}")
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "team": {"id": "T1", "domain": "acme"},
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": CHANNEL,
            "is_ephemeral": False,
            "thread_ts": message.thread_ts,
        },
        "channel": {"id": CHANNEL, "name": "team"},
        "message": {"type": "message", "ts": message.ts, "thread_ts": message.thread_ts},
        "trigger_id": f"trig-{time.monotonic_ns()}",
        "response_url": "http://127.0.0.1:9/",
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": "b",
                "value": button["value"],
                "action_ts": f"{time.time():.6f}",
                "text": button["text"],
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


async def press(http: httpx.AsyncClient, message: Posted, kind: str, user: str = "U1") -> None:
    body = press_body(message, kind, user)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = await http.post("/slack/events", content=body, headers={**form, **signed(body)})
    assert answer.status_code == 200 and answer.text == ""  # acked at once, nothing shown
    await settled()


def first_reply(slack: SlackEmulator) -> Posted:
    root = next(p for p in slack.ours(CHANNEL) if p.thread_ts is None)
    return slack.thread(root.ts)[0]


def public_thread(slack: SlackEmulator, reply: Posted) -> list[Posted]:
    return [p for p in slack.thread(reply.thread_ts or "") if p.user is None]


def private(slack: SlackEmulator, user: str) -> list[Posted]:
    return [p for p in slack.posted if p.user == user]


async def test_every_analysis_carries_the_four_buttons(team: SlackTeam) -> None:
    digest = await posted_day(team.rig, team.slack)
    root = next(p for p in team.slack.ours(CHANNEL) if p.thread_ts is None)
    replies = team.slack.thread(root.ts)
    shas = {b["value"] for r in replies for b in r.buttons()}
    assert shas == {e.commit.sha for e in digest.entries}
    labels = [b["text"]["text"] for b in replies[0].buttons()]
    assert labels == ["Explain more", "Show diff", "👍", "👎"]
    assert root.buttons() == []  # the summary has none


async def test_explain_more_answers_in_the_thread_once(team: SlackTeam) -> None:
    digest = await posted_day(team.rig, team.slack)
    reply = first_reply(team.slack)
    sha = reply.buttons()[0]["value"]
    before = len(public_thread(team.slack, reply))
    await press(team.http, reply, "explain", "U1")
    await press(team.http, reply, "explain", "U2")  # a second press, by anyone: said already
    thread = public_thread(team.slack, reply)
    assert len(thread) == before + 1
    entry = next(e for e in digest.entries if e.commit.sha == sha)
    assert (
        thread[-1].all_text().startswith("No model is configured, so this is the stored analysis.")
    )
    assert entry.commit.short_sha in thread[-1].all_text()
    assert [p.all_text() for p in private(team.slack, "U1")] == [
        f"Explaining {entry.commit.short_sha} in the thread…"
    ]
    assert [p.all_text() for p in private(team.slack, "U2")] == [
        f"The explanation of {entry.commit.short_sha} is already in this thread."
    ]
    assert all(p.thread_ts == reply.thread_ts for p in private(team.slack, "U1"))


async def test_a_press_is_logged_with_its_ids_and_its_latency(
    team: SlackTeam, caplog: pytest.LogCaptureFixture
) -> None:
    await posted_day(team.rig, team.slack)
    reply = first_reply(team.slack)
    with caplog.at_level(logging.INFO, logger="digestbot.events"):
        await press(team.http, reply, "up", "U1")
    lines = [r for r in caplog.records if r.name == "digestbot.events"]
    sha = reply.buttons()[0]["value"]
    assert any(f"up on {sha[:12]} from U1 in slack {CHANNEL}" in r.getMessage() for r in lines)
    done = [r for r in lines if "press-up" in r.getMessage()]
    assert done and getattr(done[0], "outcome", None) == "answered"
    assert getattr(done[0], "user", None) == "U1"


async def test_an_explanation_that_failed_to_post_can_be_asked_again(team: SlackTeam) -> None:
    await posted_day(team.rig, team.slack)
    reply = first_reply(team.slack)
    before = len(public_thread(team.slack, reply))
    refused = {"ok": False, "error": "not_in_channel"}
    team.slack.fail(Fault(200, body=refused, path_contains="chat.postMessage"))
    await press(team.http, reply, "explain", "U1")  # the explanation is refused once
    assert len(public_thread(team.slack, reply)) == before
    await press(team.http, reply, "explain", "U1")  # so the next press explains
    assert len(public_thread(team.slack, reply)) == before + 1


def huge_day() -> ListSource:
    big = commit(
        "feat(core): rewrite the scheduler <b>&amp;</b> ```fenced```",
        change("src/core/scheduler.py", 1500, hunks=12),
        change("src/core/limits.py", 900, hunks=6),
        sha="ab" * 20,
        when=berlin(26, 11),
    )
    return ListSource("acme/app", [big])


async def test_show_diff_sends_code_blocks_only_to_the_asker_once(team: SlackTeam) -> None:
    await posted_day(team.rig, team.slack, huge_day())
    reply = first_reply(team.slack)
    channel_before = len(team.slack.channel_messages(CHANNEL))
    await press(team.http, reply, "diff", "U2")
    await press(team.http, reply, "diff", "U2")  # a double click: one diff
    assert len(team.slack.channel_messages(CHANNEL)) == channel_before  # nothing public
    said = private(team.slack, "U2")
    heading, *code, note = said
    assert heading.all_text().startswith("The diff of abababa (feat(core): rewrite the")
    assert note.all_text() == "The diff of abababa is on its way to you."
    sections = [s for m in code for s in m.section_texts()]
    assert len(sections) >= 2  # longer than one section: split into code blocks, not cut
    assert all(
        s.startswith("```") and s.endswith("```") and len(s) <= SECTION_CHARS for s in sections
    )
    assert all(sum(len(s) for s in m.section_texts()) <= MESSAGE_CHARS for m in code)
    shown = "".join(s.removeprefix("```").removesuffix("```") for s in sections)
    assert "src/core/scheduler.py" in shown and "src/core/limits.py" in shown
    assert "```fenced" not in shown  # a backtick run in the diff cannot close the block
    assert all(m.thread_ts == reply.thread_ts for m in said)


async def test_votes_count_once_and_show_on_the_page_and_the_disagreements(
    team: SlackTeam, store: SqlStore
) -> None:
    digest = await posted_day(team.rig, team.slack)
    reply = first_reply(team.slack)
    sha = reply.buttons()[0]["value"]
    short = sha[:7]
    await press(team.http, reply, "up", "U1")
    await press(team.http, reply, "up", "U1")  # pressed twice: counted once
    await press(team.http, reply, "down", "U2")
    assert [p.all_text() for p in private(team.slack, "U1")] == [
        f"Thanks: 👍 noted for {short}.",
        f"You already voted 👍 on {short}: it counts once.",
    ]
    routes = ReportRoutes(store, SIGNER, team.rig.votes)
    web = Starlette(routes=routes.routes())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url="http://w"
    ) as http:
        page = await http.get(page_url(SIGNER, digest))
        api = await http.get("/api" + page_url(SIGNER, digest))
        index = await http.get(f"/repos/acme/app?{signed_index()}")
        disputed = await http.get(f"/disagreements/acme/app?{signed_index()}")
        refused = await http.get("/disagreements/acme/app")
    assert "👍 1 · 👎 1" in page.text
    votes = {e["sha"]: e["votes"] for e in api.json()["entries"]}
    assert votes[sha] == {"up": 1, "down": 1}
    assert "/disagreements/acme/app?" in index.text
    assert disputed.status_code == 200 and short in disputed.text
    assert refused.status_code == 403  # private repository: the signed link only


def signed_index() -> str:
    return urlencode(SIGNER.query("index|acme/app", "acme/app"))


async def test_a_press_on_a_message_from_before_a_restart_works(
    team: SlackTeam, store: SqlStore, slack: SlackEmulator, github: GitHubEmulator, now: Now
) -> None:
    await posted_day(team.rig, team.slack)
    reply = first_reply(slack)
    restarted = rig_for(store, github, now)  # a new process: nothing in memory, one database
    async with serve(restarted, slack) as http:
        await press(http, reply, "down", "U1")
    sha = reply.buttons()[0]["value"]
    assert await restarted.votes.counts("acme/app", [sha]) == {sha: Tally(0, 1)}


async def open_home(team: SlackTeam, user: str) -> None:
    opened: dict[str, object] = {"type": "app_home_opened", "user": user, "channel": "D1"}
    opened["tab"] = "home"
    body = event_body(opened, f"EvHome-{user}")
    headers = {"Content-Type": "application/json", **signed(body)}
    assert (await team.http.post("/slack/events", content=body, headers=headers)).status_code == 200
    await settled()


async def test_app_home_shows_only_the_channels_the_viewer_is_in(team: SlackTeam) -> None:
    await team.command("subscribe acme/app at 09:00 tz Europe/Berlin")
    await team.rig.engine.build(
        team.rig.source("acme/app"), DayWindow(date(2026, 11, 26), "Europe/Berlin"), "en"
    )
    await open_home(team, "U9")  # a workspace member outside the (perhaps private) channel
    shown = json.dumps(team.slack.homes["U9"])
    assert "acme/app" not in shown and "digest.example/reports" not in shown


async def test_app_home_shows_the_subscriptions_and_the_latest_digests(team: SlackTeam) -> None:
    await team.command("subscribe acme/app at 09:00 tz Europe/Berlin")
    for day in (24, 25, 26):
        src = team.rig.source("acme/app")
        await team.rig.engine.build(src, DayWindow(date(2026, 11, day), "Europe/Berlin"), "en")
    await open_home(team, "U2")
    view = team.slack.homes["U2"]
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert f"*acme/app* → <#{CHANNEL}> — daily at 09:00 Europe/Berlin" in texts[1]
    assert "made in the channel" in texts[1]
    latest = [t for t in texts if t.startswith("<https://digest.example/reports/")]
    assert [t.split("|")[1].split(">")[0] for t in latest] == [
        "acme/app — 2026-11-26", "acme/app — 2026-11-25", "acme/app — 2026-11-24"
    ]  # fmt: skip
    assert "Commits on 2026-11-26: 3" in latest[0]


async def test_a_forged_press_is_refused_before_bolt_reads_it(team: SlackTeam) -> None:
    await posted_day(team.rig, team.slack)
    reply = first_reply(team.slack)
    body = press_body(reply, "up", "U1")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    forged = await team.http.post(
        "/slack/events", content=body, headers={**form, **signed(body, "not-the-secret")}
    )
    await settled()
    assert forged.status_code == 401
    sha = reply.buttons()[0]["value"]
    assert await team.rig.votes.counts("acme/app", [sha]) == {}
    assert [p for p in team.slack.posted if p.user] == []
