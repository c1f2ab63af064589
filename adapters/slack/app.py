"""The Bolt app: `/digest` acked at once and run lazily, thread follow-ups, HTTP and Socket Mode."""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response

from adapters.pacing import Pacer, Rate
from adapters.slack.render import SlackRenderer
from bot.chat import (
    ChatTarget,
    CommandEvent,
    EntryMessage,
    MessageRef,
    OutgoingMessage,
    Part,
    RenderedPost,
    SummaryMessage,
    ThreadReplyEvent,
)
from bot.conversation import Conversation

PLATFORM = "slack"
# chat.postMessage: about one message per second per channel (Slack rate-limit docs).
SLACK_RATES = (Rate(1, 1.0),)
# Message metadata lets a resumed post find a message whose send outcome was never recorded.
MARKER_EVENT = "digestbot_part"
_MENTION = re.compile(r"<@[A-Z0-9]+(\|[^>]*)?>")
_log = logging.getLogger(__name__)


def slack_client(token: str, api_url: str) -> AsyncWebClient:
    """A Web API client that waits out 429 Retry-After and retries 5xx.

    A dropped connection is not retried blindly: Slack may have posted the message, so the
    post stops and its resume looks for the message (recover) before sending it again.
    """
    base = api_url if api_url.endswith("/") else api_url + "/"  # urljoin drops a last segment
    return AsyncWebClient(
        token=token,
        base_url=base,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


class SlackPoster:
    """Sends rendered Block Kit messages; private ones go to one user (postEphemeral)."""

    def __init__(self, client: AsyncWebClient, pacer: Pacer, user: str | None = None) -> None:
        self._client = client
        self._pacer = pacer
        self._user = user
        self._renderer = SlackRenderer()

    def for_user(self, user: str) -> SlackPoster:
        """The same poster, answering privately to `user`."""
        return SlackPoster(self._client, self._pacer, user)

    def render(self, message: OutgoingMessage) -> list[Part]:
        """See SlackRenderer.render."""
        return self._renderer.render(message)

    def render_post(self, summary: SummaryMessage, replies: Sequence[EntryMessage]) -> RenderedPost:
        """See SlackRenderer.render_post."""
        return self._renderer.render_post(summary, replies)

    async def post(
        self, target: ChatTarget, part: Part, thread: MessageRef | None, marker: str = ""
    ) -> MessageRef:
        """One chat.postMessage (or postEphemeral), paced per channel, stamped with `marker`."""
        payload = cast(dict[str, Any], part.payload)
        fields = {"channel": target.channel, "text": payload["text"], "blocks": payload["blocks"]}
        thread_ts = thread.message_id if thread else None
        await self._pacer.wait(target.channel)
        if payload["private"] and self._user:
            answer = await self._client.chat_postEphemeral(
                user=self._user, thread_ts=thread_ts, **fields
            )
            return MessageRef(target, str(answer["message_ts"]))
        metadata = {"event_type": MARKER_EVENT, "event_payload": {"part": marker}}
        answer = await self._client.chat_postMessage(
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            metadata=metadata if marker else None,
            **fields,
        )
        return MessageRef(target, str(answer["ts"]))

    async def recover(
        self, target: ChatTarget, thread: MessageRef | None, marker: str
    ) -> MessageRef | None:
        """Look for a message stamped with `marker`: in the thread, or recent channel history."""
        if thread is None:
            answer = await self._client.conversations_history(
                channel=target.channel, limit=50, include_all_metadata=True
            )
        else:
            answer = await self._client.conversations_replies(
                channel=target.channel, ts=thread.message_id, limit=200, include_all_metadata=True
            )
        messages: list[dict[str, Any]] = answer.get("messages", [])
        for message in messages:
            meta = message.get("metadata") or {}
            if (
                meta.get("event_type") == MARKER_EVENT
                and meta.get("event_payload", {}).get("part") == marker
            ):
                return MessageRef(target, str(message["ts"]))
        return None


def could_not_post(error: SlackApiError) -> str:
    """What to tell the user when Slack refused our message."""
    code = str(error.response.get("error", "unknown_error"))
    if code in ("not_in_channel", "channel_not_found"):
        return (
            "I can't post in this channel yet: invite me with `/invite @digestbot`, then try again."
        )
    return f"Slack refused my message ({code}); nothing was posted. Try again, or tell your admin."


class SeenMessages:
    """Recent (channel, ts) pairs: Slack re-sends slow events, and a mention arrives twice."""

    def __init__(self, size: int = 2048) -> None:
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._size = size

    def first_time(self, channel: str, ts: str) -> bool:
        """True the first time a message is seen."""
        key = (channel, ts)
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True


def build_app(
    conversation: Conversation, client: AsyncWebClient, signing_secret: str, pacer: Pacer
) -> AsyncApp:
    """The Bolt app with our listeners; the same app serves HTTP and Socket Mode."""
    app = AsyncApp(client=client, signing_secret=signing_secret, process_before_response=False)
    poster = SlackPoster(client, pacer)
    seen = SeenMessages()

    async def ack_command(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        await ack(f"Working on `/digest {body.get('text', '').strip()}`…")

    async def run_command(body: dict[str, Any], respond: Callable[..., Awaitable[Any]]) -> None:
        target = ChatTarget(PLATFORM, body["channel_id"])
        event = CommandEvent(target, body["user_id"], body.get("text", ""), body["trigger_id"])
        try:
            await conversation.on_command(event, poster.for_user(body["user_id"]))
        except SlackApiError as exc:  # response_url still reaches the user when posting cannot
            await respond(text=could_not_post(exc), response_type="ephemeral")

    app.command("/digest")(ack=ack_command, lazy=[run_command])

    async def on_message(event: dict[str, Any]) -> None:
        await _inbound(event, conversation, poster, seen, mention=False)

    async def on_mention(event: dict[str, Any]) -> None:
        await _inbound(event, conversation, poster, seen, mention=True)

    app.event("message")(on_message)
    app.event("app_mention")(on_mention)
    return app


async def _inbound(
    event: dict[str, Any],
    conversation: Conversation,
    poster: SlackPoster,
    seen: SeenMessages,
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
    if not seen.first_time(channel, ts):
        return
    target = ChatTarget(PLATFORM, channel)
    text = _MENTION.sub("", event.get("text", "")).strip()
    user = event.get("user", "")
    if in_thread:
        reply = ThreadReplyEvent(target, user, text, MessageRef(target, str(thread_ts)))
        await conversation.on_thread_reply(reply, poster.for_user(user))
    else:  # "@digestbot today" at channel level: a command (slash commands can't be threaded)
        await conversation.on_command(CommandEvent(target, user, text, f"{channel}:{ts}"), poster)


def http_endpoint(app: AsyncApp) -> Callable[[Request], Awaitable[Response]]:
    """POST /slack/events: Bolt checks the signature (401 when forged or stale) and acks."""
    handler = AsyncSlackRequestHandler(app)

    async def endpoint(request: Request) -> Response:
        return await handler.handle(request)

    return endpoint


def socket_mode(app: AsyncApp, app_token: str) -> AsyncSocketModeHandler:
    """A Socket Mode connection for `app` (start with connect_async, stop with close_async)."""
    return AsyncSocketModeHandler(app, app_token)
