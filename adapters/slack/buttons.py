"""Slack buttons: Block Kit block_actions on the signed endpoint → the core's ButtonDesk.

Bolt acks the press at once (Slack wants it within 3 s) and runs the work lazily; the presser
is answered with ephemeral messages in the pressed message's thread, which only they see.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack.errors import could_not_post
from adapters.slack.poster import SlackPoster
from adapters.slack.render import ACTION_PREFIX
from bot.actions import KINDS, ActionEvent, PrivateLine
from bot.buttons import ButtonDesk
from bot.chat import ChatTarget, MessageRef, TextMessage, send
from bot.errors import DigestbotError

PLATFORM = "slack"
_log = logging.getLogger(__name__)


class SlackPresser:
    """Answers the presser privately: an ephemeral message in the thread of the pressed one."""

    def __init__(self, poster: SlackPoster, target: ChatTarget, thread: MessageRef | None) -> None:
        self._poster = poster  # already private to the presser (for_user)
        self._target = target
        self._thread = thread

    async def acknowledge(self, text: str, *, alert: bool = False) -> None:
        """An ephemeral line in the thread (Slack has no alert: the same line)."""
        if text:  # Bolt acked the press already: nothing to say is nothing to send
            await send(self._poster, self._target, TextMessage(text, private=True), self._thread)

    async def private_line(self) -> PrivateLine | None:
        """Ephemeral messages in the thread reach any member of the channel."""
        return PrivateLine(self._poster, self._target, self._thread)


def action_event(body: dict[str, Any]) -> ActionEvent | None:
    """A block_actions payload as the core's event (None for an action that is not ours)."""
    action = (body.get("actions") or [{}])[0]
    kind = str(action.get("action_id", "")).removeprefix(ACTION_PREFIX)
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    message_ts = container.get("message_ts")
    if kind not in KINDS or not channel or not message_ts or not action.get("value"):
        return None
    target = ChatTarget(PLATFORM, str(channel))
    user = str((body.get("user") or {}).get("id", ""))
    event_id = f"{message_ts}:{action.get('action_ts', '')}:{user}"
    message = MessageRef(target, str(message_ts))
    return ActionEvent(target, user, message, kind, str(action["value"]), event_id)


def _thread(body: dict[str, Any], target: ChatTarget) -> MessageRef | None:
    message = body.get("message") or {}
    thread_ts = message.get("thread_ts") or (body.get("container") or {}).get("thread_ts")
    return MessageRef(target, str(thread_ts)) if thread_ts else None


def register_buttons(app: AsyncApp, buttons: ButtonDesk, poster: SlackPoster) -> None:
    """Our buttons' presses: acked at once, done lazily (Bolt's lazy listeners)."""

    async def ack_press(ack: Callable[..., Awaitable[None]]) -> None:
        await ack()

    async def run_press(body: dict[str, Any], respond: Callable[..., Awaitable[Any]]) -> None:
        event = action_event(body)
        if event is None:
            _log.info(
                "slack action not ours: %s", (body.get("actions") or [{}])[0].get("action_id")
            )
            return
        private = poster.for_user(event.user)
        presser = SlackPresser(private, event.target, _thread(body, event.target))
        try:
            await buttons.on_action(event, poster, presser)
        except DigestbotError as exc:  # one line to the presser, never a traceback
            _log.warning("slack press %s failed: %s", event.event_id, exc)
            await respond(
                text=could_not_post(exc), response_type="ephemeral", replace_original=False
            )

    app.action(re.compile(f"^{ACTION_PREFIX}"))(ack=ack_press, lazy=[run_press])
