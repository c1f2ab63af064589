"""Telegram's "typing…" status while a command's answer is being built.

Telegram shows a chat action for 5 seconds, or until the bot's next message arrives, so a
build that takes a minute needs it renewed: every 4 s, until the answer is sent or a cap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.chat import ChatTarget

RENEW_SECONDS = 4.0  # Telegram clears the status after 5 s
LONGEST_SECONDS = 180.0  # a build that never answers stops showing it
_log = logging.getLogger(__name__)


class ChatTyping:
    """One per bot: which chats show "typing…" now, renewed in the background."""

    def __init__(self, bot: Bot, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._bot = bot
        self._sleep = sleep
        self._renewing: dict[tuple[str, str | None], asyncio.Task[None]] = {}

    async def start(self, target: ChatTarget) -> None:
        """Show "typing…" in the chat now, and keep it up until `stop` (or the cap)."""
        key = (target.channel, target.topic)
        if key in self._renewing or not await self._send(target):
            return
        task = asyncio.create_task(self._renew(target))
        self._renewing[key] = task
        task.add_done_callback(lambda _: self._renewing.pop(key, None))

    def stop(self, target: ChatTarget) -> None:
        """The answer is going out: stop renewing (Telegram clears the status on a message)."""
        task = self._renewing.pop((target.channel, target.topic), None)
        if task is not None:
            task.cancel()

    async def _renew(self, target: ChatTarget) -> None:
        for _ in range(int(LONGEST_SECONDS / RENEW_SECONDS)):
            await self._sleep(RENEW_SECONDS)
            if not await self._send(target):
                return

    async def _send(self, target: ChatTarget) -> bool:
        try:
            await self._bot.send_chat_action(
                target.channel,
                ChatAction.TYPING,
                message_thread_id=int(target.topic) if target.topic else None,
            )
        except TelegramError as exc:  # only a courtesy: the answer itself still goes out
            _log.debug("telegram chat %s: no typing status: %s", target.channel, exc)
            return False
        return True
