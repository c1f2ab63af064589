"""The python-telegram-bot application: /digest and /explain, replies as follow-ups, webhook."""

from __future__ import annotations

import asyncio
import hmac
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import Response
from telegram import Bot, BotCommand, LinkPreviewOptions, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from adapters.pacing import Pacer, Rate
from adapters.telegram.render import TelegramRenderer
from bot.chat import (
    ChatTarget,
    CommandEvent,
    EntryMessage,
    MessageRef,
    NoRecovery,
    OutgoingMessage,
    Part,
    RenderedPost,
    SummaryMessage,
    ThreadReplyEvent,
)
from bot.commands import COMMANDS
from bot.conversation import Conversation
from bot.errors import ConfigError

PLATFORM = "telegram"
# FloodLimit: ~1 message a second per chat, 20 a minute per group.
CHAT_RATES = (Rate(1, 1.0),)
GROUP_RATES = (Rate(20, 60.0),)
MAX_RETRIES = 5
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TelegramApp = Application[Any, Any, Any, Any, Any, Any]


def _seconds(error: RetryAfter) -> float:
    # PTB 22 gives int seconds (deprecated, warns) or a timedelta when PTB_TIMEDELTA is set.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: int | timedelta = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramPoster(NoRecovery):  # the Bot API cannot list a chat's messages
    """Sends HTML messages as replies; waits per chat and per group, and on retry_after."""

    def __init__(
        self,
        bot: Bot,
        pacers: tuple[Pacer, Pacer],
        reply_to: int | None = None,
        *,
        answering: bool = False,
    ) -> None:
        self._bot = bot
        self._chat_pacer, self._group_pacer = pacers
        self._reply_to = reply_to
        self._answering = answering
        self._renderer = TelegramRenderer()

    def replying_to(self, message_id: int, *, answering: bool = False) -> TelegramPoster:
        """A poster tied to a user's message: private notes (or every answer) reply to it."""
        pacers = (self._chat_pacer, self._group_pacer)
        return TelegramPoster(self._bot, pacers, message_id, answering=answering)

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
        """One sendMessage, retried after Telegram's retry_after up to MAX_RETRIES times."""
        payload = cast(dict[str, Any], part.payload)
        reply_id = self._reply_id(bool(payload["private"]), thread)
        for attempt in range(MAX_RETRIES + 1):
            await self._pace(target.channel)
            try:
                sent = await self._bot.send_message(
                    chat_id=target.channel,
                    text=payload["html"],
                    parse_mode=ParseMode.HTML,
                    reply_parameters=ReplyParameters(reply_id, allow_sending_without_reply=True)
                    if reply_id
                    else None,
                    message_thread_id=int(target.topic) if target.topic else None,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
                return MessageRef(target, str(sent.message_id))
            except RetryAfter as exc:
                if attempt == MAX_RETRIES:
                    raise
                self._chat_pacer.pause(target.channel, _seconds(exc))
        raise AssertionError("unreachable")

    async def _pace(self, chat: str) -> None:
        await self._chat_pacer.wait(chat)
        if chat.startswith("-"):  # groups and channels have negative ids
            await self._group_pacer.wait(chat)


def telegram_poster(bot: Bot) -> TelegramPoster:
    """A poster with Telegram's flood limits."""
    return TelegramPoster(bot, (Pacer(CHAT_RATES), Pacer(GROUP_RATES)))


def _target(update: Update) -> ChatTarget:
    message = update.effective_message
    assert message is not None
    topic = str(message.message_thread_id) if message.is_topic_message else None
    return ChatTarget(PLATFORM, str(message.chat_id), topic)


class Handlers:
    """Telegram updates → neutral events for the conversation core."""

    def __init__(
        self, conversation: Conversation, poster_for: Callable[[Bot], TelegramPoster]
    ) -> None:
        self._conversation = conversation
        self._poster_for = poster_for

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/digest …`, `/explain N`, `/help`, `/start`: one grammar; usage goes to the sender."""
        message = update.effective_message
        if message is None or message.text is None:
            return
        name = message.text.split(maxsplit=1)[0].lstrip("/").split("@")[0].lower()
        words = [*([name] if name in ("explain", "help") else []), *(context.args or [])]
        user = str(update.effective_user.id) if update.effective_user else ""
        event = CommandEvent(_target(update), user, " ".join(words), f"tg-{update.update_id}")
        poster = self._poster_for(context.bot).replying_to(message.message_id)
        await self._conversation.on_command(event, poster)

    async def on_reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A reply to one of our messages is a follow-up; the answer replies to the question."""
        message = update.effective_message
        replied = message.reply_to_message if message else None
        if message is None or replied is None or replied.from_user is None:
            return
        if replied.from_user.id != context.bot.id:
            return  # a reply to someone else, not to one of our messages
        target = _target(update)
        user = str(message.from_user.id) if message.from_user else ""
        ref = MessageRef(target, str(replied.message_id))
        event = ThreadReplyEvent(target, user, message.text or "", None, ref)
        poster = self._poster_for(context.bot).replying_to(message.message_id, answering=True)
        await self._conversation.on_thread_reply(event, poster)


def build_application(
    token: str,
    api_url: str,
    conversation: Conversation,
    poster_for: Callable[[Bot], TelegramPoster],
) -> TelegramApp:
    """The application with our handlers; `updater` exists for polling, webhooks bypass it."""
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(api_url)
        .concurrent_updates(8)  # a slow digest must not hold up follow-ups
        .build()
    )
    handlers = Handlers(conversation, poster_for)
    commands = ["digest", "explain", "help", "start"]
    application.add_handler(CommandHandler(commands, handlers.on_command))
    replies = filters.REPLY & filters.TEXT & ~filters.COMMAND
    application.add_handler(MessageHandler(replies, handlers.on_reply))
    return application


async def register_commands(application: TelegramApp) -> None:
    """Register the commands (setMyCommands) from their metadata, so clients offer them."""
    digest, explain = COMMANDS[0], COMMANDS[1]
    await application.bot.set_my_commands(
        [
            BotCommand("digest", f"{digest.summary} · today, yesterday, a date, a repo"[:256]),
            BotCommand("explain", f"{explain.summary} · /explain 6356"[:256]),
        ]
    )


def webhook_endpoint(
    application: TelegramApp, secret: str
) -> Callable[[Request], Awaitable[Response]]:
    """POST /telegram/webhook: refused without the secret token; updates queued, answered 200."""

    async def endpoint(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return Response("forbidden", status_code=403)
        try:
            data = await request.json()
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested too deep
            return Response("not JSON", status_code=400)
        # Valid JSON is not yet an update: `[]`, `"x"`, `{}` or a string update_id.
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            return Response("not a Telegram update", status_code=400)
        try:
            update = Update.de_json(data, application.bot)
        except (TypeError, ValueError, LookupError, AttributeError, ArithmeticError):  # wrong shape
            return Response("not a Telegram update", status_code=400)
        await application.update_queue.put(update)
        return Response(status_code=200)

    return endpoint


async def initialize(application: TelegramApp) -> None:
    """Initialize (getMe); a refusal or a bad TELEGRAM_API_URL becomes one line, token-free.

    PTB puts the token in InvalidToken's text, and a base URL without `/bot` turns the token's
    secret half into httpx's "Invalid port" message.
    """
    try:
        await application.initialize()
    except InvalidToken:
        raise ConfigError(
            "Telegram refused TELEGRAM_BOT_TOKEN (or TELEGRAM_API_URL is not a Bot API server): "
            "check both"
        ) from None
    except TelegramError as exc:
        kind = type(exc.__cause__ or exc).__name__
        raise ConfigError(
            f"Telegram could not be reached ({kind}): check TELEGRAM_API_URL "
            "(e.g. https://api.telegram.org/bot) and the network"
        ) from None


async def start(
    application: TelegramApp, *, polling: bool, webhook_url: str | None, secret: str | None
) -> None:
    """Initialize and start; then poll, or point Telegram at our webhook."""
    if not application.running:
        await application.initialize()
        await register_commands(application)  # post_init only runs under run_polling/run_webhook
        await application.start()
    if polling and application.updater is not None:
        await application.bot.delete_webhook()
        await application.updater.start_polling(allowed_updates=["message"])
    elif webhook_url:
        await application.bot.set_webhook(
            webhook_url, secret_token=secret, allowed_updates=["message"]
        )


async def stop(application: TelegramApp) -> None:
    """Stop polling and processing, within Heroku's 30 s."""
    if application.updater is not None and application.updater.running:
        await asyncio.wait_for(application.updater.stop(), 10)
    if application.running:
        await application.stop()
    await application.shutdown()
