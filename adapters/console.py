"""The console channel: a terminal stands in for a chat, through the same core path."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import TextIO

from bot.chat import (
    ChatTarget,
    CommandEvent,
    EntryMessage,
    MessageRef,
    OutgoingMessage,
    SummaryMessage,
    TextMessage,
    ThreadReplyEvent,
)
from bot.conversation import Conversation
from bot.i18n import SEVERITY, change_type_label, text
from bot.models import SEVERITIES_DESC
from bot.sanitize import safe_text

CONSOLE = ChatTarget("console", "local")
PROMPT_HELP = "Type /digest help, /digest last, or >N question to reply to message N. Ctrl-D quits."


def format_message(message: OutgoingMessage) -> str:
    """Plain text for a terminal."""
    if isinstance(message, TextMessage):
        return safe_text(message.text, 6000)
    if isinstance(message, SummaryMessage):
        return _summary(message)
    return _entries(message)


def _summary(message: SummaryMessage) -> str:
    digest, lang = message.digest, message.digest.language
    counts = digest.counts()
    stats = text(
        lang,
        "stats_line",
        total=len(digest.entries),
        **{s.value: counts[s] for s in SEVERITIES_DESC},
    )
    lines = [f"{digest.repo} — {digest.day.isoformat()}", stats]
    if digest.overview:
        lines.append(digest.overview)
    lines += [f"  🔴 {title}" for title in message.high_titles()]
    if message.report_url:
        lines.append(message.report_url)
    return safe_text("\n".join(lines), 6000)


def _entries(message: EntryMessage) -> str:
    lang = message.digest.language
    blocks = []
    for entry in message.entries:
        a = entry.analysis
        head = (
            f"{SEVERITY[lang][a.severity]} {entry.commit.short_sha} {entry.commit.title} "
            f"({change_type_label(lang, a.change_type)})"
        )
        body = [head, a.summary]
        body += [f"  ⚠ {r}" for r in a.risks] + [f"  → {r}" for r in a.recommendations]
        if a.fallback_reason:
            body.append(f"  (rules analysis: {a.fallback_reason})")
        blocks.append("\n".join(body))
    return safe_text("\n\n".join(blocks), 6000)


class ConsolePoster:
    """Prints messages with numbers; a thread reply is indented under its root."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._count = 0
        # Ids survive restarts in the store, so each session gets its own prefix.
        self._session = str(int(time.time() * 1000))

    def ref(self, number: int) -> MessageRef:
        """The ref of the message shown as [number]."""
        return MessageRef(CONSOLE, f"{self._session}.{number}")

    async def send(
        self, target: ChatTarget, message: OutgoingMessage, thread: MessageRef | None = None
    ) -> list[MessageRef]:
        """Print one message and return its ref."""
        self._count += 1
        indent = "    " if thread else ""
        marker = f"[{self._count}]" + (
            " (only you)" if isinstance(message, TextMessage) and message.private else ""
        )
        lines = format_message(message).splitlines() or [""]
        self._out.write(f"{indent}{marker} {lines[0]}\n")
        for line in lines[1:]:
            self._out.write(f"{indent}    {line}\n")
        self._out.flush()
        return [self.ref(self._count)]


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
