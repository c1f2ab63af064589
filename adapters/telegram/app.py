"""The python-telegram-bot application: /digest and /explain, replies as follow-ups, webhook."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from telegram import Bot, BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from adapters.telegram.poster import (
    CHAT_RATES,
    GROUP_RATES,
    TelegramPoster,
    telegram_poster,
)
from adapters.telegram.render import CALLBACK_PREFIX
from adapters.telegram.team import button_handler, command_user
from bot.buttons import ButtonDesk
from bot.chat import ChatTarget, CommandEvent, MessageRef, TextMessage, ThreadReplyEvent, send
from bot.commands import COMMANDS
from bot.conversation import Conversation
from bot.errors import DigestbotError
from bot.inbound import InboundLog

__all__ = [
    "CHAT_RATES",
    "GROUP_RATES",
    "TelegramApp",
    "TelegramPoster",
    "build_application",
    "shared_poster",
    "start",
    "stop",
    "telegram_poster",
    "webhook_endpoint",
]

PLATFORM = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TelegramApp = Application[Any, Any, Any, Any, Any, Any]
# Messages (commands, follow-ups) and presses of our inline keyboards.
UPDATES = ["message", "callback_query"]
_POSTER = "digestbot.poster"  # bot_data key of the one poster every handler shares
_SORRY = "Sorry, that failed on my side; try again in a minute."
_log = logging.getLogger(__name__)


def _target(update: Update) -> ChatTarget:
    message = update.effective_message
    assert message is not None
    topic = str(message.message_thread_id) if message.is_topic_message else None
    return ChatTarget(PLATFORM, str(message.chat_id), topic)


class Handlers:
    """Telegram updates → neutral events for the conversation core, all through one poster."""

    def __init__(self, conversation: Conversation, poster: TelegramPoster) -> None:
        self._conversation = conversation
        self._poster = poster

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/digest …`, `/explain N`, `/help`, `/start`: one grammar; usage goes to the sender."""
        message = update.effective_message
        if message is None or message.text is None:
            return
        name = message.text.split(maxsplit=1)[0].lstrip("/").split("@")[0].lower()
        if name == "start":  # a new chat with the bot (its deep-link payload is not ours)
            words = ["start"]
        else:
            words = [*([name] if name in ("explain", "help") else []), *(context.args or [])]
        user = command_user(message)
        event = CommandEvent(_target(update), user, " ".join(words), f"tg-{update.update_id}")
        await self._conversation.on_command(event, self._poster.replying_to(message.message_id))

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
        poster = self._poster.replying_to(message.message_id, answering=True)
        _log.info("telegram update %s: follow-up in %s", update.update_id, target.channel)
        await self._conversation.on_thread_reply(event, poster)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log a failed update, and tell its sender in one line (never a traceback)."""
        error = context.error
        update_id = update.update_id if isinstance(update, Update) else "?"
        _log.warning("telegram update %s failed: %r", update_id, error)
        if not isinstance(update, Update) or update.effective_message is None:
            return
        if update.callback_query is not None:  # a press: its answer said enough, not the group
            return
        text = f"Sorry, that failed: {error}" if isinstance(error, DigestbotError) else _SORRY
        poster = self._poster.replying_to(update.effective_message.message_id)
        try:
            await send(poster, _target(update), TextMessage(text, private=True))
        except DigestbotError as exc:  # the chat itself refuses us: nothing more to say there
            _log.warning("telegram update %s: could not say so: %s", update_id, exc)


def _once(
    seen: InboundLog,
) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """A first handler that stops an update already handled (by this or another process)."""

    async def check(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        key = f"update:{update.update_id}"
        if not await seen.first_time(PLATFORM, key, datetime.now(UTC)):
            _log.info("telegram update %s already handled", update.update_id)
            raise ApplicationHandlerStop

    return check


def build_application(
    token: str,
    api_url: str,
    conversation: Conversation,
    poster_for: Callable[[Bot], TelegramPoster],
    seen: InboundLog,
    *,
    buttons: ButtonDesk | None = None,
) -> TelegramApp:
    """The application with our handlers; `updater` exists for polling, webhooks bypass it.

    One poster (so one pacer per chat) is built for the application's bot and shared by every
    handler and by the daily posts (`shared_poster`); `seen` drops re-delivered updates;
    `buttons` answers presses of the inline keyboards on analyses.
    """
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(api_url)
        .concurrent_updates(8)  # a slow digest must not hold up follow-ups
        .build()
    )
    poster = poster_for(application.bot)
    application.bot_data[_POSTER] = poster
    application.add_handler(TypeHandler(Update, _once(seen)), group=-1)
    _add_handlers(application, Handlers(conversation, poster))
    if buttons is not None:
        pressed = button_handler(buttons, poster)
        application.add_handler(CallbackQueryHandler(pressed, pattern=f"^{CALLBACK_PREFIX}:"))
    return application


def _add_handlers(application: TelegramApp, handlers: Handlers) -> None:
    """Commands, replies to our messages (follow-ups), and the error handler."""
    commands = ["digest", "explain", "help", "start"]
    application.add_handler(CommandHandler(commands, handlers.on_command))
    replies = filters.REPLY & filters.TEXT & ~filters.COMMAND
    application.add_handler(MessageHandler(replies, handlers.on_reply))
    application.add_error_handler(handlers.on_error)


def shared_poster(application: TelegramApp) -> TelegramPoster:
    """The poster the application's handlers use: daily posts share its pacers."""
    poster = application.bot_data[_POSTER]
    assert isinstance(poster, TelegramPoster)
    return poster


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


async def start(
    application: TelegramApp,
    *,
    polling: bool,
    webhook_url: str | None,
    secret: str | None,
    on_error: Callable[[TelegramError], None] | None = None,
) -> None:
    """Initialize and start; then poll (`on_error` hears each failure) or set the webhook."""
    if not application.running:
        await application.initialize()
        await register_commands(application)  # post_init only runs under run_polling/run_webhook
        await application.start()
    if polling and application.updater is not None:
        await application.bot.delete_webhook()
        updater = application.updater
        await updater.start_polling(allowed_updates=UPDATES, error_callback=on_error)
    elif webhook_url:
        await application.bot.set_webhook(webhook_url, secret_token=secret, allowed_updates=UPDATES)


async def stop(application: TelegramApp) -> None:
    """Stop polling and processing, within Heroku's 30 s."""
    if application.updater is not None and application.updater.running:
        await asyncio.wait_for(application.updater.stop(), 10)
    if application.running:
        await application.stop()
    await application.shutdown()
