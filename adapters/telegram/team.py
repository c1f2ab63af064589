"""Telegram's side of team self-service: the group's admins decide, and inline-keyboard presses.

A callback query shows a spinner on the presser's screen until it is answered, and an answer
that comes too late (a few seconds; undocumented) is refused: the core answers first and works
after, and whatever path a press takes, `settle` answers it in the end.

Show diff: Telegram has no message only one member of a group sees, so the diff goes to a
private chat with the presser. A bot cannot open that chat itself: when the presser never
started one, the callback is answered with an alert asking them to (and to press again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Bot, CallbackQuery, Message, Update
from telegram.constants import ChatAction, ChatMemberStatus
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from adapters.telegram.poster import TelegramPoster
from adapters.telegram.render import CALLBACK_PREFIX, KIND_CODES
from bot.actions import ActionEvent, PrivateLine
from bot.buttons import ButtonDesk
from bot.chat import ChatTarget, MessageRef

PLATFORM = "telegram"
ANSWER_CHARS = 200  # answerCallbackQuery text: 0–200 characters
_KINDS = {code: kind for kind, code in KIND_CODES.items()}
_ADMINS = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
# A bot cannot start a chat with a user: they must open one with the bot first.
START_PRIVATE = (
    "I can't message you privately yet: open a chat with me (tap my name, then Start), "
    "then press Show diff again."
)
_log = logging.getLogger(__name__)


class TelegramAdmins:
    """Implements bot.team.ChatAuthority: a group's owner and administrators (getChatMember)."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def refusal(self, target: ChatTarget, user: str) -> str | None:
        """None for an admin, the chat's owner in a private chat, or an anonymous admin."""
        if user == target.channel:  # a private chat (its id is the user's), or an anonymous
            return None  # admin, whose messages come from the group itself (sender_chat)
        try:
            member = await self._bot.get_chat_member(int(target.channel), int(user))
        except TelegramError as exc:
            _log.warning("telegram: getChatMember %s in %s failed: %s", user, target.channel, exc)
            return f"I could not check the group's administrators (Telegram said {exc.message})"
        except ValueError:
            return "I could not tell who you are"
        if member.status in _ADMINS:
            return None
        return "only this group's administrators can"


def command_user(message: Message) -> str:
    """Who sent a command: an anonymous admin is the group itself (its sender_chat)."""
    chat = message.sender_chat
    if chat is not None and chat.id == message.chat_id:
        return str(chat.id)
    return str(message.from_user.id) if message.from_user else ""


class TelegramPresser:
    """Answers a callback query once; private messages go to the presser's chat with the bot."""

    def __init__(self, query: CallbackQuery, poster: TelegramPoster, bot: Bot) -> None:
        self._query = query
        self._poster = poster
        self._bot = bot
        self._answered = False

    async def acknowledge(self, text: str, *, alert: bool = False) -> None:
        """The callback's answer (a toast, or an alert); only the first one counts."""
        if self._answered:
            return
        self._answered = True
        try:
            await self._query.answer(text=text[:ANSWER_CHARS], show_alert=alert)
        except TelegramError as exc:  # too late, or answered already: the work goes on
            _log.warning("telegram: callback %s not answered: %s", self._query.id, exc)

    async def private_line(self) -> PrivateLine | None:
        """The presser's private chat with the bot; None when they never started one.

        A chat action ("typing") is the probe: refused like a message would be ("bot can't
        initiate conversation with a user"), it posts nothing.
        """
        user = self._query.from_user.id
        try:
            await self._bot.send_chat_action(user, ChatAction.TYPING)
        except (Forbidden, BadRequest) as exc:
            _log.info("telegram: no private chat with %s: %s", user, exc.message)
            await self.acknowledge(START_PRIVATE, alert=True)
            return None
        return PrivateLine(self._poster, ChatTarget(PLATFORM, str(user)))

    async def settle(self) -> None:
        """Stop the presser's spinner if nothing answered the query yet."""
        await self.acknowledge("")


def press_event(query: CallbackQuery, update_id: int) -> ActionEvent | None:
    """A callback query on one of our buttons as the core's event (None when not ours)."""
    prefix, _, rest = (query.data or "").partition(":")
    code, _, sha = rest.partition(":")
    message = query.message
    if prefix != CALLBACK_PREFIX or code not in _KINDS or not sha or message is None:
        return None
    topic = None
    if isinstance(message, Message) and message.is_topic_message:
        topic = str(message.message_thread_id)
    target = ChatTarget(PLATFORM, str(message.chat.id), topic)
    ref = MessageRef(target, str(message.message_id))
    user = str(query.from_user.id)
    return ActionEvent(target, user, ref, _KINDS[code], sha, f"tg-{update_id}")


def button_handler(
    buttons: ButtonDesk, poster: TelegramPoster
) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """The CallbackQueryHandler callback: translate, let the core work, answer in any case."""

    async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        presser = TelegramPresser(query, poster, context.bot)
        try:
            event = press_event(query, update.update_id)
            _log.info("telegram update %s: button %s", update.update_id, query.data)
            if event is not None:
                await buttons.on_action(event, poster, presser)
        finally:
            await presser.settle()

    return on_press
