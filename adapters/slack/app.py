"""The Bolt app: `/digest` acked at once and run lazily, thread follow-ups, HTTP and Socket Mode."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response

from adapters.pacing import Pacer
from adapters.slack.buttons import register_buttons
from adapters.slack.errors import could_not_post
from adapters.slack.poster import (
    MARKER_EVENT,
    SLACK_RATES,
    SlackPoster,
    slack_client,
    slack_pacer,
)
from adapters.slack.team import register_home
from bot.buttons import ButtonDesk
from bot.chat import ChatTarget, CommandEvent, MessageRef, ThreadReplyEvent
from bot.conversation import Conversation
from bot.errors import DigestbotError
from bot.home import HomeBuilder
from bot.inbound import InboundLog

__all__ = [
    "MARKER_EVENT",
    "PLATFORM",
    "SLACK_RATES",
    "SlackPoster",
    "build_app",
    "http_endpoint",
    "slack_client",
    "slack_pacer",
    "socket_mode",
]

PLATFORM = "slack"
_MENTION = re.compile(r"<@[A-Z0-9]+(\|[^>]*)?>")
_log = logging.getLogger(__name__)


class _SameToken(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client's (the same) wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.AsyncApp").addFilter(_SameToken())


def build_app(
    conversation: Conversation,
    client: AsyncWebClient,
    signing_secret: str,
    pacer: Pacer,
    seen: InboundLog,
    *,
    buttons: ButtonDesk | None = None,
    home: HomeBuilder | None = None,
) -> AsyncApp:
    """The Bolt app with our listeners; the same app serves HTTP and Socket Mode.

    `pacer` is the process's one Slack pacer, shared with the daily posts; `seen` remembers
    handled events in the database, so a retry reaching another process is not answered twice.
    `buttons` answers presses on analyses (interactivity), `home` draws the App Home tab.
    """
    app = AsyncApp(client=client, signing_secret=signing_secret, process_before_response=False)
    poster = SlackPoster(client, pacer)
    _register_command(app, conversation, poster)

    async def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        await _inbound(event, body, conversation, poster, seen, mention=False)

    async def on_mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        await _inbound(event, body, conversation, poster, seen, mention=True)

    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        _log.warning("slack event %s failed: %s", body.get("event_id", "?"), error)

    app.event("message")(on_message)
    app.event("app_mention")(on_mention)
    app.error(on_error)
    if buttons is not None:
        register_buttons(app, buttons, poster)
    if home is not None:
        register_home(app, home)
    return app


def _register_command(app: AsyncApp, conversation: Conversation, poster: SlackPoster) -> None:
    """`/digest`: acked at once (Slack allows 3 s), run lazily."""

    async def ack_command(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        await ack(f"Working on `/digest {body.get('text', '').strip()}`…")

    async def run_command(body: dict[str, Any], respond: Callable[..., Awaitable[Any]]) -> None:
        target = ChatTarget(PLATFORM, body["channel_id"])
        event = CommandEvent(target, body["user_id"], body.get("text", ""), body["trigger_id"])
        try:
            await conversation.on_command(event, poster.for_user(body["user_id"]))
        except DigestbotError as exc:  # response_url still reaches the user when posting cannot
            _log.warning("slack /digest in %s failed: %s", target.channel, exc)
            await respond(text=could_not_post(exc), response_type="ephemeral")

    app.command("/digest")(ack=ack_command, lazy=[run_command])


async def _first_time(seen: InboundLog, event: dict[str, Any], body: dict[str, Any]) -> bool:
    """Slack re-sends an event it thinks unanswered, and a mention arrives as two events."""
    now = datetime.now(UTC)
    event_id = str(body.get("event_id") or "")
    if event_id and not await seen.first_time(PLATFORM, f"event:{event_id}", now):
        return False
    return await seen.first_time(PLATFORM, f"message:{event['channel']}:{event['ts']}", now)


async def _inbound(
    event: dict[str, Any],
    body: dict[str, Any],
    conversation: Conversation,
    poster: SlackPoster,
    seen: InboundLog,
    *,
    mention: bool,
) -> None:
    if event.get("bot_id") or event.get("subtype") not in (None, "thread_broadcast", "file_share"):
        return  # our own posts, edits, joins
    channel, ts = event["channel"], event["ts"]
    thread_ts = event.get("thread_ts")
    in_thread = thread_ts is not None and thread_ts != ts
    if not in_thread and not mention:
        return
    if not await _first_time(seen, event, body):
        _log.info("slack event %s (%s %s) already handled", body.get("event_id"), channel, ts)
        return
    target = ChatTarget(PLATFORM, channel)
    text = _MENTION.sub("", event.get("text", "")).strip()
    user = event.get("user", "")
    if in_thread:
        reply = ThreadReplyEvent(target, user, text, MessageRef(target, str(thread_ts)))
        await conversation.on_thread_reply(reply, poster.for_user(user))
    else:  # "@digestbot today" at channel level: a command (slash commands can't be threaded)
        event_id = f"{channel}:{ts}"  # help, errors and refusals: to the sender only
        await conversation.on_command(
            CommandEvent(target, user, text, event_id), poster.for_user(user)
        )


def http_endpoint(app: AsyncApp) -> Callable[[Request], Awaitable[Response]]:
    """POST /slack/events: Bolt checks the signature (401 when forged or stale) and acks."""
    handler = AsyncSlackRequestHandler(app)

    async def endpoint(request: Request) -> Response:
        return await handler.handle(request)

    return endpoint


def socket_mode(app: AsyncApp, app_token: str) -> AsyncSocketModeHandler:
    """A Socket Mode connection for `app` (start with connect_async, stop with close_async)."""
    return AsyncSocketModeHandler(app, app_token)
