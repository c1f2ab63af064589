"""The console channel: a terminal stands in for a chat, through the same core path."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
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
PROMPT = "digest> "
HISTORY_LINES = 1000
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

    async def working(self, target: ChatTarget, line: str) -> None:
        """Say that a command is being worked on (a build can take a while)."""
        self._out.write(f"… {escape(line)}\n")
        self._out.flush()


async def _lines(read: Callable[[], str], *, in_thread: bool) -> AsyncIterator[str]:
    while True:
        line = await asyncio.to_thread(read) if in_thread else read()
        if not line:
            return
        yield line.rstrip("\n")


@dataclass(frozen=True)
class _Reader:
    read: Callable[[], str]
    save: Callable[[], None] = lambda: None
    # readline runs on the main thread, blocking the loop while the prompt waits (the console
    # runs one command at a time): only there does Ctrl-C reach Python, and input() restores
    # the terminal as it raises. A pipe is read in a worker thread.
    in_thread: bool = True


def _reader(stdin: TextIO, history: Path | None) -> _Reader:
    """How lines are read, and what to do at the end: readline (arrow keys, history) on a tty."""
    if not (history and stdin is sys.stdin and stdin.isatty()):
        return _Reader(stdin.readline)
    import readline  # only here: importing it changes how input() reads, which a pipe must not

    readline.set_history_length(HISTORY_LINES)
    with contextlib.suppress(OSError):  # a first session has none; an unreadable one is skipped
        readline.read_history_file(history)

    def read() -> str:
        # asyncio's own SIGINT handler only cancels the session's task, which a blocked input()
        # never sees: at the prompt, Ctrl-C raises KeyboardInterrupt, as in any shell.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            # asyncio.run's SIGINT handler runs between bytecodes: a Ctrl-C that came after
            # the last command's last await only asked to cancel this task, which input()
            # would hold off until the next line. Honour it now.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise KeyboardInterrupt
            return input(PROMPT) + "\n"
        except EOFError:
            return ""
        finally:
            signal.signal(signal.SIGINT, previous)

    def save() -> None:
        with contextlib.suppress(OSError):  # history is a convenience: never fail the session
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(history)

    return _Reader(read, save, in_thread=False)


async def run_console(
    conversation: Conversation, stdin: TextIO, out: TextIO, history: Path | None = None
) -> None:
    """Read lines until end of input: commands, and `>N question` replies.

    On a terminal, lines are read with readline and kept in `history` between sessions.
    """
    poster = ConsolePoster(out)
    out.write(PROMPT_HELP + "\n")
    reader = _reader(stdin, history)
    try:
        await _session(conversation, poster, reader, out)
    finally:
        reader.save()


async def _session(
    conversation: Conversation, poster: ConsolePoster, reader: _Reader, out: TextIO
) -> None:
    async for line in _lines(reader.read, in_thread=reader.in_thread):
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
