"""The console channel: a terminal stands in for a chat, through the same core path."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TextIO, cast

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
    is_private,
    one_message_per_reply,
)
from bot.conversation import Conversation
from bot.layout import layout, plain_text
from bot.sanitize import neutralize

CONSOLE = ChatTarget("console", "local")
PROMPT_HELP = "Type /digest help, /digest last, or >N question to reply to message N. Ctrl-D quits."


def escape(value: str) -> str:
    """Any text as safe for a terminal (no escape sequences, no bidi reordering), as in chat."""
    return neutralize(value)


def format_message(message: OutgoingMessage) -> str:
    """Plain text for a terminal: the neutral layout without markup."""
    blocks = layout(message)
    return "\n".join(escape(plain_text(line)) for block in blocks for line in block.lines)


class ConsolePoster(NoRecovery):
    """Prints messages with numbers; a thread reply is indented under its root."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._count = 0
        # Ids survive restarts in the store, so each session gets its own prefix.
        self._session = str(int(time.time() * 1000))

    def ref(self, number: int) -> MessageRef:
        """The ref of the message shown as [number]."""
        return MessageRef(CONSOLE, f"{self._session}.{number}")

    def render(self, message: OutgoingMessage) -> list[Part]:
        """One terminal block per message; a terminal has no length limit worth splitting for."""
        shas = (
            tuple(e.commit.sha for e in message.entries)
            if isinstance(message, EntryMessage)
            else ()
        )
        private = is_private(message)
        return [Part((format_message(message), private), shas)]

    def render_post(self, summary: SummaryMessage, replies: Sequence[EntryMessage]) -> RenderedPost:
        """The summary, then one block per thread reply."""
        return one_message_per_reply(self.render, summary, replies)

    async def post(
        self, target: ChatTarget, part: Part, thread: MessageRef | None, marker: str = ""
    ) -> MessageRef:
        """Print one block, numbered; thread replies indented under their root."""
        body, private = cast(tuple[str, bool], part.payload)
        self._count += 1
        indent = "    " if thread else ""
        marker = f"[{self._count}]" + (" (only you)" if private else "")
        lines = body.splitlines() or [""]
        self._out.write(f"{indent}{marker} {lines[0]}\n")
        for line in lines[1:]:
            self._out.write(f"{indent}    {line}\n")
        self._out.flush()
        return self.ref(self._count)


async def _lines(read: Callable[[], str]) -> AsyncIterator[str]:
    while True:
        line = await asyncio.to_thread(read)
        if not line:
            return
        yield line.rstrip("\n")


async def run_console(conversation: Conversation, stdin: TextIO, out: TextIO) -> None:
    """Read lines until end of input: commands, and `>N question` replies."""
    poster = ConsolePoster(out)
    out.write(PROMPT_HELP + "\n")
    async for line in _lines(stdin.readline):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith(">"):
            number, _, question = stripped[1:].partition(" ")
            if not number.isdigit() or not question.strip():
                out.write("Reply with >N your question, e.g. >3 why is this risky?\n")
                continue
            event = ThreadReplyEvent(
                CONSOLE, "you", question.strip(), None, poster.ref(int(number))
            )
            if not await conversation.on_thread_reply(event, poster):
                out.write(f"[{number}] is not one of my digest messages.\n")
            continue
        await conversation.on_command(CommandEvent(CONSOLE, "you", stripped), poster)
