"""Slack through the real slack-bolt/slack_sdk against the Web API emulator, and signed HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.routing import Route

from adapters.pacing import Pacer
from adapters.slack.app import SlackPoster, build_app, http_endpoint, slack_client, slack_pacer
from adapters.slack.render import MAX_BLOCKS, MESSAGE_CHARS, SECTION_CHARS
from bot.chat import ChatTarget
from bot.delivery import post_key
from bot.storage.inbound_store import SqlInboundLog
from bot.storage.sql_store import SqlStore
from tests.chat_fixtures import (
    built_digest,
    conversation,
    hostile_day,
    publisher,
    swollen,
)
from tests.emulators.slack_api import BOT_USER, SlackEmulator
from tests.test_slack_delivery import poster
from tests.waiting import until

SECRET = "signing-secret"
CHANNEL = "C0DIGEST"
TARGET = ChatTarget("slack", CHANNEL)


async def test_a_24_commit_digest_posts_within_every_limit(
    store: SqlStore, slack: SlackEmulator
) -> None:
    digest = swollen(await built_digest(store))
    outcome = await publisher(store).publish(
        TARGET, digest, poster(slack), key=post_key("daily", TARGET, digest)
    )
    roots = [p for p in slack.posted if p.thread_ts is None]
    assert outcome.root is not None and roots[0].ts == outcome.root.message_id
    assert len(roots) == 1  # overflow of the summary continues in the thread, never a 2nd root
    replies = slack.thread(roots[0].ts)
    assert len(replies) == outcome.sent - 1
    for message in slack.posted:
        assert len(message.blocks) <= MAX_BLOCKS
        assert all(len(t) <= SECTION_CHARS for t in message.section_texts())
        assert sum(len(t) for t in message.section_texts()) <= MESSAGE_CHARS
        assert message.text  # the notification fallback
    everything = "\n".join(m.all_text() for m in slack.posted)
    for entry in digest.entries:  # nothing dropped: every commit and all of its summary
        assert entry.commit.short_sha in everything
    assert everything.count("word899&amp;&lt;&gt;") >= len(digest.entries)
    assert "<!channel>" not in everything and "<script>" not in everything
    assert "&lt;script&gt;" in everything


def signed(body: str, secret: str = SECRET, age: int = 0) -> dict[str, str]:
    stamp = str(int(time.time()) - age)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def command_body(
    text: str, user: str = "U1", trigger: str = "T-1", response_url: str = "http://127.0.0.1:9/"
) -> str:
    return urlencode(
        {
            "command": "/digest",
            "text": text,
            "channel_id": CHANNEL,
            "user_id": user,
            "team_id": "T1",
            "trigger_id": trigger,
            "response_url": response_url,
        }
    )


def event_body(event: dict[str, object], event_id: str) -> str:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}],
        }
    )


@pytest.fixture
async def http(store: SqlStore, slack: SlackEmulator) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(
        conversation(store, hostile_day(6)),
        slack_client(slack.token, slack.api_url),
        SECRET,
        Pacer([]),
        SqlInboundLog(store.engine),
    )
    web = Starlette(routes=[Route("/slack/events", http_endpoint(app), methods=["POST"])])
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://digestbot") as client:
        yield client


async def settled(seconds: float = 60.0) -> None:
    """Wait until every listener Bolt started (it acks first, works after) has finished."""
    me = asyncio.current_task()
    await until(lambda: all(t is me or t.done() for t in asyncio.all_tasks()), seconds)


async def test_signed_command_is_acked_before_the_work_and_forgeries_refused(
    http: httpx.AsyncClient, slack: SlackEmulator
) -> None:
    body = command_body("2026-02-19")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    forged = await http.post("/slack/events", content=body, headers={**form, **signed(body, "x")})
    stale = await http.post(
        "/slack/events", content=body, headers={**form, **signed(body, age=600)}
    )
    assert forged.status_code == stale.status_code == 401
    assert slack.posted == []
    answer = await http.post("/slack/events", content=body, headers={**form, **signed(body)})
    assert answer.status_code == 200 and "Working on" in answer.text
    assert slack.posted == []  # acknowledged first; the digest is still being built
    await until(lambda: len(slack.channel_messages(CHANNEL)) >= 2)
    root = next(p for p in slack.posted if p.thread_ts is None)
    assert "acme/app" in root.all_text() and "2026-02-19" in root.all_text()


async def test_a_bad_command_answers_only_the_sender(
    http: httpx.AsyncClient, slack: SlackEmulator
) -> None:
    body = command_body("tomorrow please", user="U7")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    await http.post("/slack/events", content=body, headers={**form, **signed(body)})
    await until(lambda: bool(slack.posted))
    assert [p.user for p in slack.posted] == ["U7"]
    assert "I don't understand" in slack.posted[0].all_text()


async def test_a_chat_without_a_subscription_is_told_how_to_add_one(store: SqlStore) -> None:
    from bot.chat import CommandEvent

    core = conversation(store, hostile_day(3), follows=False)  # a chat nobody subscribed
    with SlackEmulator() as emulator:
        event = CommandEvent(ChatTarget("slack", "CNEW"), "U5", "today")
        await core.on_command(event, poster(emulator).for_user("U5"))
        answer = emulator.posted[0]
    assert answer.user == "U5"  # only the sender sees it
    assert "add a [[subscription]] for CNEW" in answer.all_text()


async def test_a_channel_without_the_bot_gets_an_invitation_hint(
    http: httpx.AsyncClient, slack: SlackEmulator
) -> None:
    slack.not_in.add(CHANNEL)
    body = command_body("2026-02-19", response_url=slack.response_url("T-1"))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    await http.post("/slack/events", content=body, headers={**form, **signed(body)})
    await until(lambda: bool(slack.responses))
    assert slack.responses[0]["response_type"] == "ephemeral"
    assert "invite me with `/invite @digestbot`" in slack.responses[0]["text"]
    assert slack.posted == []


async def test_follow_up_in_thread_is_answered_once_and_own_messages_ignored(
    http: httpx.AsyncClient, slack: SlackEmulator
) -> None:
    body = command_body("2026-02-19")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    await http.post("/slack/events", content=body, headers={**form, **signed(body)})
    await until(lambda: len(slack.channel_messages(CHANNEL)) >= 2)
    await settled()  # the whole thread has landed
    root = next(p for p in slack.posted if p.thread_ts is None)
    reply_to = slack.thread(root.ts)[0]
    before = len(slack.posted)
    question = {
        "type": "message",
        "channel": CHANNEL,
        "user": "U2",
        "text": f"<@{BOT_USER}> why does this matter?",
        "ts": "1800000000.000001",
        "thread_ts": root.ts,
    }
    headers = {"Content-Type": "application/json"}
    for event_id, kind in (("Ev1", "message"), ("Ev1", "message"), ("Ev2", "app_mention")):
        payload = event_body({**question, "type": kind}, event_id)
        answer = await http.post(
            "/slack/events", content=payload, headers={**headers, **signed(payload)}
        )
        assert answer.status_code == 200
    own = event_body(
        {**question, "user": BOT_USER, "bot_id": "BDIGEST", "ts": "1800000000.2"}, "Ev3"
    )
    await http.post("/slack/events", content=own, headers={**headers, **signed(own)})
    await settled()
    answers = slack.posted[before:]
    assert len(answers) == 1  # a retry, and the same message as app_mention: one answer
    assert answers[0].thread_ts == root.ts
    assert "stored analysis" in answers[0].all_text()
    assert reply_to.thread_ts == root.ts


async def test_a_mention_asking_for_help_is_answered_to_the_asker_only(
    http: httpx.AsyncClient, slack: SlackEmulator
) -> None:
    mention: dict[str, object] = {
        "type": "app_mention",
        "channel": CHANNEL,
        "user": "U2",
        "text": f"<@{BOT_USER}> help",
        "ts": "1800000000.000009",
    }
    payload = event_body(mention, "EvHelp")
    headers = {"Content-Type": "application/json", **signed(payload)}
    assert (await http.post("/slack/events", content=payload, headers=headers)).status_code == 200
    await until(lambda: bool(slack.posted))
    await settled()
    assert [p.user for p in slack.posted] == ["U2"]  # ephemeral, not the whole channel
    assert "/digest explain" in slack.posted[0].all_text()


async def test_socket_mode_command_is_acked_over_the_socket_then_posted(
    store: SqlStore, slack: SlackEmulator
) -> None:
    from aiohttp import WSMsgType, web

    from adapters.slack.app import socket_mode
    from tests.socket_link import serve_link

    acks: list[dict[str, object]] = []

    async def link(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1})
        payload = dict(parse_qsl(command_body("2026-02-19")))
        await ws.send_json(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "payload": payload,
                "accepts_response_payload": True,
            }
        )
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                acks.append(json.loads(message.data))
        return ws

    runner = await serve_link(slack, link)
    app = build_app(
        conversation(store, hostile_day(6)),
        slack_client(slack.token, slack.api_url),
        SECRET,
        Pacer([]),
        SqlInboundLog(store.engine),
    )
    handler = socket_mode(app, slack.app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        await until(lambda: any(a.get("envelope_id") == "env-1" for a in acks))
        await until(lambda: len(slack.channel_messages(CHANNEL)) >= 2)
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
        await runner.cleanup()
    ack = next(a for a in acks if a.get("envelope_id") == "env-1")
    assert "Working on" in json.dumps(ack)
    assert slack.calls("apps.connections.open") >= 1


@pytest.mark.parametrize("name", ["manifest.yaml", "manifest.socket.yaml"])
def test_the_app_manifests_ask_for_what_the_bot_uses(name: str) -> None:
    from pathlib import Path

    import yaml

    import adapters.slack

    path = Path(adapters.slack.__file__).parent / name
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    # Exactly these: chat:write.public would post into channels the bot never joined, where the
    # thread replies that make follow-ups never reach it.
    assert set(scopes) == {
        "commands",
        "chat:write",
        "app_mentions:read",
        "channels:history",
        "groups:history",
        "channels:read",  # conversations.members: who may change a channel's subscriptions
        "groups:read",
        "usergroups:read",  # managers named by user group
    }
    settings = manifest["settings"]
    events = settings["event_subscriptions"]["bot_events"]
    assert set(events) == {"app_mention", "message.channels", "message.groups", "app_home_opened"}
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True  # the buttons on analyses
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/digest"
    socket = name == "manifest.socket.yaml"
    assert settings["socket_mode_enabled"] is socket
    http_urls = {
        command.get("url"),
        settings["event_subscriptions"].get("request_url"),
        settings["interactivity"].get("request_url"),
    }
    assert http_urls == ({None} if socket else {"https://YOUR-HOST/slack/events"})


def slash(http: httpx.AsyncClient, body: str) -> Awaitable[httpx.Response]:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return http.post("/slack/events", content=body, headers={**form, **signed(body)})


async def test_private_answers_are_not_queued_behind_a_channel_post(
    store: SqlStore, slack: SlackEmulator
) -> None:
    pacer = slack_pacer()  # the process's one pacer: the daily post and the commands share it
    client = slack_client(slack.token, slack.api_url)
    seen = SqlInboundLog(store.engine)
    app = build_app(conversation(store, hostile_day(6)), client, SECRET, pacer, seen)
    web = Starlette(routes=[Route("/slack/events", http_endpoint(app), methods=["POST"])])
    digest = await built_digest(store)
    pacer.pause(CHANNEL, 3600)  # a long post whose next turn in the channel is far away
    key = post_key("daily", TARGET, digest)
    long_post = asyncio.create_task(
        publisher(store).publish(TARGET, digest, SlackPoster(client, pacer), key=key)
    )
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://digestbot") as http:
        bodies = [command_body("help", user=f"U{i}", trigger=f"T-{i}") for i in range(20)]
        acks = await asyncio.gather(*(slash(http, body) for body in bodies))
        await until(lambda: len([p for p in slack.posted if p.user]) == 20)
    long_post.cancel()
    with contextlib.suppress(asyncio.CancelledError):  # it lets go of its claim before the
        await long_post  # database closes; left running, the loop's teardown could hang on it
    assert all(a.status_code == 200 for a in acks)
    assert {p.user for p in slack.posted} == {f"U{i}" for i in range(20)}  # each asker answered
    assert slack.channel_messages(CHANNEL) == []  # while the channel post still waits its turn


async def test_an_event_delivered_to_two_processes_is_answered_once(
    store: SqlStore, slack: SlackEmulator
) -> None:
    digest = await built_digest(store, 6)
    outcome = await publisher(store).publish(
        TARGET, digest, poster(slack), key=post_key("daily", TARGET, digest)
    )
    assert outcome.root is not None
    apps = [  # two web processes behind one load balancer, one database
        build_app(
            conversation(store, hostile_day(6)),
            slack_client(slack.token, slack.api_url),
            SECRET,
            Pacer([]),
            SqlInboundLog(store.engine),
        )
        for _ in range(2)
    ]
    question: dict[str, object] = {
        "type": "message",
        "channel": CHANNEL,
        "user": "U2",
        "text": f"<@{BOT_USER}> why does this matter?",
        "ts": "1800000000.000001",
        "thread_ts": outcome.root.message_id,
    }
    deliveries: list[tuple[AsyncApp, str]] = [  # a retry reaches the other process; a mention
        (apps[0], event_body(question, "Ev1")),
        (apps[1], event_body(question, "Ev1")),
        (apps[1], event_body({**question, "type": "app_mention"}, "Ev2")),
    ]
    before = len(slack.posted)
    headers = {"Content-Type": "application/json"}
    for app, payload in deliveries:
        web = Starlette(routes=[Route("/e", http_endpoint(app), methods=["POST"])])
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://p") as http:
            answer = await http.post("/e", content=payload, headers={**headers, **signed(payload)})
            assert answer.status_code == 200
    await settled()  # every delivery handled, answered or dropped
    assert len(slack.posted) == before + 1
