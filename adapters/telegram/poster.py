"""Sending to Telegram: paced sendMessage replies, retry_after, slow answers, errors in words."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

import httpx
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from adapters.pacing import Pacer, Rate
from adapters.telegram.chat_action import ChatTyping
from adapters.telegram.render import TelegramRenderer
from bot.chat import (
    ChatTarget,
    EntryMessage,
    MessageRef,
    NoRecovery,
    OutgoingMessage,
    Part,
    RenderedPost,
    SummaryMessage,
)
from bot.errors import ChatError
from bot.telemetry import MessageSent, RateLimited, emit

# FloodLimit: ~1 message a second per chat, 20 a minute per group.
CHAT_RATES = (Rate(1, 1.0),)
GROUP_RATES = (Rate(20, 60.0),)
MAX_RETRIES = 5
# PTB waits 5 s for an answer by default (HTTPXRequest read_timeout). The Bot API cannot look a
# message up, so an answer given up on is a message sent twice: wait long for sendMessage's.
SEND_READ_TIMEOUT = 60.0
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_log = logging.getLogger(__name__)


def retry_seconds(error: RetryAfter) -> float:
    """Telegram's retry_after in seconds."""
    # PTB 22 gives int seconds (deprecated, warns) or a timedelta when PTB_TIMEDELTA is set.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: int | timedelta = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def chat_error(exc: TelegramError, target: ChatTarget, *, write: bool = True) -> ChatError:
    """A TelegramError as the line an operator reads, and whether the message may exist."""
    chat = target.channel
    if isinstance(exc, ChatMigrated):
        new = exc.new_chat_id
        return ChatError(
            f"Telegram says group {chat} was upgraded to a supergroup with the new id {new} "
            f"(set telegram_chat = {new} in the subscription)",
            code="migrated",
            retry_helps=False,
        )
    if isinstance(exc, Forbidden):
        fix = "add the bot to the chat again" if "kicked" in exc.message else "check the chat id"
        return ChatError(f"Telegram said {exc.message} ({fix})", code="forbidden")
    if isinstance(exc, InvalidToken):
        return ChatError("Telegram refused the bot token (check TELEGRAM_BOT_TOKEN)", code="token")
    if isinstance(exc, BadRequest):
        return ChatError(f"Telegram said {exc.message}", code="bad_request")
    if isinstance(exc, NetworkError) and isinstance(exc.__cause__, _NOT_SENT):
        return ChatError(f"could not connect to Telegram ({type(exc.__cause__).__name__})")
    if isinstance(exc, TimedOut):
        return ChatError("Telegram did not answer in time", uncertain=write)
    return ChatError(f"Telegram failed: {exc.message}", uncertain=write)


class TelegramPoster(NoRecovery):  # the Bot API cannot list a chat's messages
    """Sends HTML messages as replies; waits per chat and per group, and on retry_after."""

    def __init__(
        self,
        bot: Bot,
        pacers: tuple[Pacer, Pacer],
        reply_to: int | None = None,
        *,
        answering: bool = False,
        typing: ChatTyping | None = None,
    ) -> None:
        self._bot = bot
        self._typing = typing or ChatTyping(bot)
        self._chat_pacer, self._group_pacer = pacers
        self._reply_to = reply_to
        self._answering = answering
        self._renderer = TelegramRenderer()

    def replying_to(self, message_id: int, *, answering: bool = False) -> TelegramPoster:
        """The same poster (same pacers), tied to a user's message: notes or answers reply to it."""
        pacers = (self._chat_pacer, self._group_pacer)
        return TelegramPoster(
            self._bot, pacers, message_id, answering=answering, typing=self._typing
        )

    async def working(self, target: ChatTarget, line: str) -> None:
        """Show "typing…" in the chat until the answer is sent (bot.conversation.ShowsWork)."""
        await self._typing.start(target)

    def render(self, message: OutgoingMessage) -> list[Part]:
        """See TelegramRenderer.render."""
        return self._renderer.render(message)

    def render_post(self, summary: SummaryMessage, replies: Sequence[EntryMessage]) -> RenderedPost:
        """See TelegramRenderer.render_post."""
        return self._renderer.render_post(summary, replies)

    def _reply_id(self, private: bool, thread: MessageRef | None) -> int | None:
        if self._reply_to is not None and (self._answering or private):
            return self._reply_to
        return int(thread.message_id) if thread else None

    async def post(
        self, target: ChatTarget, part: Part, thread: MessageRef | None, marker: str = ""
    ) -> MessageRef:
        """One sendMessage; a retry_after pauses and slows the chat, then it is sent again."""
        payload = cast(dict[str, Any], part.payload)
        reply_id = self._reply_id(bool(payload["private"]), thread)
        self._typing.stop(target)
        for attempt in range(MAX_RETRIES + 1):
            await self._pace(target.channel)
            try:
                markup = _markup(payload.get("keyboard") or [])
                sent = await self._send(target, payload["html"], reply_id, markup)
                emit(MessageSent("telegram", target.channel, marker), _log)
                return MessageRef(target, str(sent))
            except RetryAfter as exc:
                if attempt == MAX_RETRIES:
                    raise ChatError("Telegram kept answering 429 (flood control)") from exc
                self._chat_pacer.penalize(target.channel, wait := retry_seconds(exc))
                self._group_pacer.penalize(target.channel, wait)
                slow = self._chat_pacer.slowdown(target.channel)
                emit(RateLimited("telegram", target.channel, attempt + 1, wait, slow), _log)
            except TelegramError as exc:
                raise chat_error(exc, target) from exc
        raise AssertionError("unreachable")

    async def _send(
        self,
        target: ChatTarget,
        html: str,
        reply_id: int | None,
        markup: InlineKeyboardMarkup | None = None,
    ) -> int:
        sent = await self._bot.send_message(
            chat_id=target.channel,
            text=html,
            parse_mode=ParseMode.HTML,
            reply_parameters=ReplyParameters(reply_id, allow_sending_without_reply=True)
            if reply_id
            else None,
            message_thread_id=int(target.topic) if target.topic else None,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            reply_markup=markup,
            read_timeout=SEND_READ_TIMEOUT,
        )
        return sent.message_id

    async def _pace(self, chat: str) -> None:
        await self._chat_pacer.wait(chat)
        if chat.startswith("-"):  # groups and channels have negative ids
            await self._group_pacer.wait(chat)


def _markup(rows: list[list[dict[str, str]]]) -> InlineKeyboardMarkup | None:
    """The rendered keyboard as PTB's markup (None when the message has no buttons)."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
            for row in rows
        ]
    )


def telegram_poster(bot: Bot) -> TelegramPoster:
    """A poster with Telegram's flood limits: build it once per process and share it."""
    return TelegramPoster(bot, (Pacer(CHAT_RATES), Pacer(GROUP_RATES)))
