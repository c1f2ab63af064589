"""Commands, follow-ups and presses, observed: a line when they arrive, one with the latency.

The decorators wrap the conversation core's two entry points and the button desk's, so every
platform (and the console) is covered by the same two lines, and the latency histogram sees
every answer.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, TypeVar

from bot.actions import ActionEvent
from bot.chat import CommandEvent, ThreadReplyEvent
from bot.commands import parse_command
from bot.errors import CommandError
from bot.telemetry import CommandAnswered, CommandReceived, PressReceived, emit


def command_name(text: str) -> str:
    """A bounded label for a command's text: digest, explain, help or invalid."""
    try:
        parsed = parse_command(text)
    except CommandError:
        return "invalid"
    return type(parsed).__name__.removesuffix("Command").lower() or "digest"


_S = TypeVar("_S")
_P = ParamSpec("_P")
_R = TypeVar("_R")


def observed_command(
    handler: Callable[Concatenate[_S, CommandEvent, _P], Awaitable[_R]],
) -> Callable[Concatenate[_S, CommandEvent, _P], Awaitable[_R]]:
    """Log a command when it arrives and when it is answered, with its latency."""

    async def run(self: _S, event: CommandEvent, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        target, name = event.target, command_name(event.text)
        ids = (target.platform, target.channel, event.user, event.event_id, name)
        emit(CommandReceived(*ids, text=event.text))
        return await _answered(ids, handler(self, event, *args, **kwargs))

    functools.update_wrapper(run, handler)
    return run


def observed_follow_up(
    handler: Callable[Concatenate[_S, ThreadReplyEvent, _P], Awaitable[bool]],
) -> Callable[Concatenate[_S, ThreadReplyEvent, _P], Awaitable[bool]]:
    """Log an answered follow-up with its latency (a reply in someone else's thread: DEBUG)."""

    async def run(
        self: _S, event: ThreadReplyEvent, /, *args: _P.args, **kwargs: _P.kwargs
    ) -> bool:
        anchor = event.reply_to or event.thread_root
        event_id = f"reply-to-{anchor.message_id}" if anchor else "reply"
        ids = (event.target.platform, event.target.channel, event.user, event_id, "follow-up")
        return await _answered(ids, handler(self, event, *args, **kwargs))

    functools.update_wrapper(run, handler)
    return run


def observed_press(
    handler: Callable[Concatenate[_S, ActionEvent, _P], Awaitable[_R]],
) -> Callable[Concatenate[_S, ActionEvent, _P], Awaitable[_R]]:
    """Log a button press when it arrives and when it is handled, with its latency."""

    async def run(self: _S, event: ActionEvent, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        target, name = event.target, f"press-{event.kind}"  # bounded: four kinds
        ids = (target.platform, target.channel, event.user, event.event_id, name)
        emit(PressReceived(*ids, text=f"{event.kind} on {event.sha[:12]}"))
        return await _answered(ids, handler(self, event, *args, **kwargs))

    functools.update_wrapper(run, handler)
    return run


async def _answered(ids: tuple[str, str, str, str, str], work: Awaitable[_R]) -> _R:
    started = time.monotonic()
    outcome = "failed"
    try:
        result = await work
        outcome = "ignored" if result is False else "answered"
        return result
    finally:
        seconds = round(time.monotonic() - started, 3)
        emit(CommandAnswered(*ids, seconds=seconds, outcome=outcome))
