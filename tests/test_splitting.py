"""Long answers are split across messages within each platform's limits, never cut."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import cast

import pytest
from telegram import Bot

from adapters.pacing import Pacer
from adapters.slack.app import SlackPoster, slack_client
from adapters.slack.render import MAX_BLOCKS, MESSAGE_CHARS, SECTION_CHARS, SlackRenderer
from adapters.telegram.app import TelegramPoster
from adapters.telegram.render import MAX_UNITS, TelegramRenderer, utf16_len
from bot.chat import ChatTarget, CommandEvent, MessageRef, TextMessage, ThreadReplyEvent, send
from bot.conversation import ChannelSetup, Conversation
from bot.followup import FollowUpContext
from bot.layout import split_text
from bot.ports import CommitSource
from bot.storage.chat_store import SqlChatStore
from bot.storage.sql_store import SqlStore
from tests.chat_fixtures import engine_for, hostile_day, publisher
from tests.emulators.slack_api import SlackEmulator
from tests.emulators.telegram_api import TelegramEmulator
from tests.factories import ListSource


def long_answer(words: int = 5000) -> str:
    """An answer of paragraphs, lines, Chinese, emoji, a 9,000-character word, and markup."""
    paragraphs = []
    for p in range(words // 100):
        lines = [" ".join(f"w{p}.{i}&<b>" for i in range(j, j + 25)) for j in range(0, 100, 25)]
        paragraphs.append("\n".join(lines))
    paragraphs.insert(3, "长" * 5000 + " 😀" * 3000)
    paragraphs.insert(7, "https://example.com/" + "x" * 9000)
    return "\n\n".join(paragraphs) + "\n\nTHE-END"


def _squeezed(value: str) -> str:
    return "".join(value.split())


def test_split_text_breaks_at_the_coarsest_boundary_that_fits() -> None:
    text = "one two\nthree four\n\nfive six"
    assert split_text(text, 100) == [text]
    assert split_text(text, 20) == ["one two\nthree four", "five six"]
    assert split_text(text, 10) == ["one two", "three four", "five six"]
    assert split_text(text, 6) == ["one", "two", "three", "four", "five", "six"]
    assert split_text("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    pieces = split_text(long_answer(), 3000)
    assert all(len(p) <= 3000 for p in pieces)
    assert _squeezed("".join(pieces)) == _squeezed(long_answer())


def test_a_long_answer_fills_several_slack_messages_within_every_limit() -> None:
    answer = long_answer()
    parts = SlackRenderer().render(TextMessage(answer))
    assert len(parts) > 3
    shown = ""
    for part in parts:
        payload = cast(dict[str, list[dict[str, dict[str, str]]]], part.payload)
        texts = [b["text"]["text"] for b in payload["blocks"]]
        assert len(texts) <= MAX_BLOCKS and sum(map(len, texts)) <= MESSAGE_CHARS
        assert all(len(t) <= SECTION_CHARS for t in texts)
        shown += "\n".join(texts)
    visible = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert _squeezed(visible) == _squeezed(answer)  # every character, in order
    assert visible.rstrip().endswith("THE-END")


def test_a_long_answer_fills_several_telegram_messages_within_4096_units() -> None:
    answer = long_answer()
    parts = TelegramRenderer().render(TextMessage(answer))
    visible = [html.unescape(cast(dict[str, str], p.payload)["html"]) for p in parts]
    assert len(visible) > 5 and all(utf16_len(v) <= MAX_UNITS for v in visible)
    assert _squeezed("".join(visible)) == _squeezed(answer)


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


class LongAnswerer:
    """A model that writes at length."""

    async def answer(
        self, question: str, context: FollowUpContext, history: list[tuple[str, str]]
    ) -> str:
        return long_answer(3000)

    async def explain(self, context: FollowUpContext) -> str | None:
        return long_answer(3000)


def _conversation(store: SqlStore) -> Conversation:
    sources: dict[str, CommitSource] = {"acme/app": ListSource("acme/app", hostile_day(4))}
    setup = ChannelSetup(sources, "UTC", "en")
    return Conversation(
        engine_for(store),
        store,
        SqlChatStore(store.engine),
        lambda _target: setup,
        LongAnswerer(),
        publisher=publisher(store),
        now=lambda: datetime(2026, 2, 20, 9, tzinfo=UTC),
    )


async def test_a_long_follow_up_answer_reaches_slack_whole(
    store: SqlStore, slack: SlackEmulator
) -> None:
    target = ChatTarget("slack", "C0LONG")
    poster = SlackPoster(slack_client(slack.token, slack.api_url), Pacer([]))
    conversation = _conversation(store)
    await conversation.on_command(CommandEvent(target, "U1", "2026-02-19"), poster)
    root = next(p for p in slack.posted if p.thread_ts is None)
    before = len(slack.posted)
    question = ThreadReplyEvent(target, "U1", "why?", MessageRef(target, root.ts))
    assert await conversation.on_thread_reply(question, poster)
    answer = slack.posted[before:]
    assert len(answer) > 1 and all(a.thread_ts == root.ts for a in answer)
    visible = "\n".join("\n".join(a.section_texts()) for a in answer)
    visible = visible.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert _squeezed(visible) == _squeezed(long_answer(3000))


async def test_a_long_answer_reaches_telegram_whole() -> None:
    with TelegramEmulator() as telegram:
        async with Bot(telegram.token, base_url=telegram.api_url) as bot:
            poster = TelegramPoster(bot, (Pacer([]), Pacer([])))
            target = ChatTarget("telegram", "-100777")
            refs = await send(poster, target, TextMessage(long_answer()))
        sent = telegram.in_chat("-100777")
    assert len(refs) == len(sent) > 5  # the emulator refuses anything over 4,096 units
    assert _squeezed("".join(s.text for s in sent)) == _squeezed(long_answer())
