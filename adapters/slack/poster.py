"""Sending to Slack: paced chat.postMessage/postEphemeral, 429s, lost answers, message look-ups."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.pacing import Pacer, Rate
from adapters.slack.errors import rate_limited, refused, retry_after, unreachable
from adapters.slack.render import SlackRenderer
from bot.chat import (
    ChatTarget,
    EntryMessage,
    MessageRef,
    OutgoingMessage,
    Part,
    RenderedPost,
    SummaryMessage,
)
from bot.telemetry import MessageSent, RateLimited, emit

# chat.postMessage: about one message per second per channel (Slack rate-limit docs).
SLACK_RATES = (Rate(1, 1.0),)
# chat.postEphemeral is Tier 4 (100+ a minute per workspace), not under postMessage's
# per-channel limit: private answers get their own key, never queued behind a channel post.
EPHEMERAL = "ephemeral"
EPHEMERAL_RATES = (Rate(100, 60.0),)
# Slow answers are waited for rather than abandoned (a lost answer costs a look-up).
TIMEOUT_SECONDS = 60
RATE_LIMIT_RETRIES = 10
# Message metadata lets a resumed post find a message whose send outcome was never recorded.
MARKER_EVENT = "digestbot_part"
# A look-up starts this long before the send was intended: our clock and Slack's may differ.
CLOCK_SKEW = timedelta(minutes=5)
PAGE_SIZE = 200
MAX_PAGES = 50
_POSTS = ("chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage")
_log = logging.getLogger(__name__)


def slack_rates(key: str) -> Sequence[Rate]:
    """The documented pace for a pacer key: a channel's, or the workspace's private answers."""
    return EPHEMERAL_RATES if key == EPHEMERAL else SLACK_RATES


def slack_pacer() -> Pacer:
    """The one pacer a process shares for every Slack channel."""
    return Pacer(slack_rates)


def _is_post(url: str) -> bool:
    return url.rstrip("/").rsplit("/", 1)[-1] in _POSTS


class _ReadsOnly(AsyncRetryHandler):
    """Retry only calls that can be repeated safely: a post re-sent blindly may post twice."""

    async def can_retry_async(self, **kwargs: Any) -> bool:
        if _is_post(kwargs["request"].url):
            return False
        return bool(await super().can_retry_async(**kwargs))


class _ReadConnectionRetry(_ReadsOnly, AsyncConnectionErrorRetryHandler):
    """Connection errors, retried for reads."""


class _ReadRateLimitRetry(_ReadsOnly, AsyncRateLimitErrorRetryHandler):
    """429 waits, for reads (posts go through the pacer, which learns from them)."""


class _ReadServerErrorRetry(_ReadsOnly, AsyncServerErrorRetryHandler):
    """500/503, retried for reads."""


def slack_client(token: str, api_url: str, *, timeout: int = TIMEOUT_SECONDS) -> AsyncWebClient:
    """A Web API client that retries reads (5xx, lost connections, 429) but never a post.

    A post whose answer was lost may have been posted: the publisher looks it up by its
    marker before sending it again, instead of the SDK re-sending it blindly.
    """
    base = api_url if api_url.endswith("/") else api_url + "/"  # urljoin drops a last segment
    return AsyncWebClient(
        token=token,
        base_url=base,
        timeout=timeout,
        retry_handlers=[
            _ReadConnectionRetry(max_retry_count=2),
            _ReadRateLimitRetry(max_retry_count=5),
            _ReadServerErrorRetry(max_retry_count=2),
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
        """The same poster (same client, same pacer), answering privately to `user`."""
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
        """One chat.postMessage (or postEphemeral), paced, stamped with `marker`."""
        payload = cast(dict[str, Any], part.payload)
        fields = {"channel": target.channel, "text": payload["text"], "blocks": payload["blocks"]}
        thread_ts = thread.message_id if thread else None
        if payload["private"] and self._user:
            ephemeral = self._client.chat_postEphemeral
            answer = await self._send(
                EPHEMERAL, ephemeral, user=self._user, thread_ts=thread_ts, **fields
            )
            emit(MessageSent("slack", target.channel, "private"), _log)
            return MessageRef(target, str(answer["message_ts"]))
        metadata = {"event_type": MARKER_EVENT, "event_payload": {"part": marker}}
        answer = await self._send(
            target.channel,
            self._client.chat_postMessage,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            metadata=metadata if marker else None,
            **fields,
        )
        emit(MessageSent("slack", target.channel, marker), _log)
        return MessageRef(target, str(answer["ts"]))

    async def _send(self, key: str, call: Callable[..., Awaitable[Any]], **fields: Any) -> Any:
        """Wait for the pacer, send; a 429 pauses and slows the key, then the send is retried."""
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            await self._pacer.wait(key)
            try:
                return await call(**fields)
            except SlackApiError as exc:
                if not rate_limited(exc) or attempt == RATE_LIMIT_RETRIES:
                    raise refused(exc, write=True) from exc
                self._pacer.penalize(key, wait := retry_after(exc))
                emit(RateLimited("slack", key, attempt + 1, wait, self._pacer.slowdown(key)), _log)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise unreachable(exc, write=True) from exc
        raise AssertionError("unreachable")

    async def recover(
        self,
        target: ChatTarget,
        thread: MessageRef | None,
        marker: str,
        since: datetime | None = None,
    ) -> MessageRef | None:
        """Find a message stamped with `marker`, sent no earlier than `since`, page by page."""
        args: dict[str, Any] = {"channel": target.channel, "limit": PAGE_SIZE}
        args["include_all_metadata"] = True
        if since is not None:
            args |= {"oldest": f"{(since - CLOCK_SKEW).timestamp():.6f}", "inclusive": True}
        if thread is not None:
            args["ts"] = thread.message_id
        read = (
            self._client.conversations_history
            if thread is None
            else self._client.conversations_replies
        )
        cursor = None
        for _page in range(MAX_PAGES):
            answer = await self._read(read, cursor=cursor, **args)
            found = marked(answer.get("messages") or [], marker)
            if found:
                return MessageRef(target, found)
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        _log.warning("%s: no %s in %d pages of history", target.describe(), marker, MAX_PAGES)
        return None

    @staticmethod
    async def _read(call: Callable[..., Awaitable[Any]], **fields: Any) -> Any:
        try:
            return await call(**fields)
        except SlackApiError as exc:
            raise refused(exc, write=False) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise unreachable(exc, write=False) from exc


def marked(messages: list[dict[str, Any]], marker: str) -> str | None:
    """The ts of the message whose metadata carries `marker`, if any."""
    for message in messages:
        meta = message.get("metadata") or {}
        if (
            meta.get("event_type") == MARKER_EVENT
            and (meta.get("event_payload") or {}).get("part") == marker
        ):
            return str(message["ts"])
    return None
