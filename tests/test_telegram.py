"""Telegram through the real python-telegram-bot against the Bot API emulator, and the webhook."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from telegram import Bot, Update
from telegram.error import BadRequest

from adapters.pacing import Pacer
from adapters.telegram.app import (
    TelegramApp,
    TelegramPoster,
    build_application,
    start,
    stop,
    webhook_endpoint,
)
from adapters.telegram.render import MAX_UNITS
from bot.chat import ChatTarget, TextMessage, send
from bot.days import DayWindow
from bot.delivery import ClaimState, post_key
from bot.models import Commit
from bot.storage.inbound_store import SqlInboundLog
from bot.storage.sql_store import SqlStore
from tests.chat_fixtures import (
    HOSTILE_TITLE,
    built_digest,
    conversation,
    hostile_day,
    publisher,
    swollen,
)
from tests.emulators.loopback import Fault
from tests.emulators.telegram_api import BOT_ID, TelegramEmulator
from tests.factories import ListSource
from tests.waiting import until

GROUP = "-100123"
TARGET = ChatTarget("telegram", GROUP)
SECRET = "webhook-secret"


@pytest.fixture
def telegram() -> Iterator[TelegramEmulator]:
    with TelegramEmulator() as emulator:
        yield emulator


def unpaced(bot: Bot) -> TelegramPoster:
    return TelegramPoster(bot, (Pacer([]), Pacer([])))


@pytest.fixture
async def bot(telegram: TelegramEmulator) -> AsyncIterator[Bot]:
    async with Bot(telegram.token, base_url=telegram.api_url) as client:
        yield client


async def test_a_24_commit_day_packs_into_few_replies_with_html_intact(
    store: SqlStore, telegram: TelegramEmulator, bot: Bot
) -> None:
    digest = await built_digest(store)
    outcome = await publisher(store).publish(
        TARGET, digest, unpaced(bot), key=post_key("daily", TARGET, digest)
    )
    root, *replies = telegram.in_chat(GROUP)
    assert outcome.root is not None and str(root.message_id) == outcome.root.message_id
    assert 1 <= len(replies) <= 4  # 24 analyses, packed: well under the 20-a-minute group cap
    assert all(r.reply_to == root.message_id for r in replies)
    visible = "\n".join(r.text for r in replies)
    assert all(e.commit.short_sha in visible for e in digest.entries)
    assert "<script>alert(1)</script> & *bold* _it_ `tick` <b>x</b>" in visible  # as text
    assert "<!channel>" not in visible and HOSTILE_TITLE not in visible  # mentions defused
    assert "<script>" not in "".join(r.html for r in replies)


async def test_a_chinese_digest_posts_with_the_reference_labels(
    store: SqlStore, telegram: TelegramEmulator, bot: Bot
) -> None:
    digest = await built_digest(store, 6, language="zh")
    await publisher(store).publish(
        TARGET, digest, unpaced(bot), key=post_key("daily", TARGET, digest)
    )
    summary, *replies = telegram.in_chat(GROUP)
    assert "本日共 6 个提交" in summary.text and "🔴高" in summary.text
    assert "本条由离线规则分析生成" in summary.text  # says the rules did the job
    assert any("功能增强" in r.text for r in replies)


async def test_long_content_splits_under_4096_utf16_units_at_structure(
    store: SqlStore, telegram: TelegramEmulator, bot: Bot
) -> None:
    digest = swollen(await built_digest(store), words=1500)
    await publisher(store).publish(
        TARGET, digest, unpaced(bot), key=post_key("daily", TARGET, digest)
    )
    sent = telegram.in_chat(GROUP)
    assert len(sent) > 5
    assert all(len(s.text.encode("utf-16-le")) // 2 <= MAX_UNITS for s in sent)
    assert sum(s.text.count("word1499&<>") for s in sent) >= len(digest.entries)  # nothing cut


async def test_the_emulator_refuses_what_telegram_refuses(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(GROUP, "😀" * 2049)  # 4,098 UTF-16 units
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(GROUP, "<b>open", parse_mode="HTML")


async def test_retry_after_is_waited_out(telegram: TelegramEmulator, bot: Bot) -> None:
    telegram.fail(
        Fault(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
            path_contains="sendMessage",
        )
    )
    started = time.monotonic()
    await send(unpaced(bot), TARGET, TextMessage("hello"))
    assert time.monotonic() - started >= 1.0
    assert [s.text for s in telegram.sent] == ["hello"]


async def test_a_500_before_telegram_took_the_message_is_sent_again_once(
    store: SqlStore, telegram: TelegramEmulator, bot: Bot
) -> None:
    digest = swollen(await built_digest(store), words=400)
    key = post_key("daily", TARGET, digest)
    telegram.break_after = 3  # the 4th sendMessage answers 500 and keeps nothing
    done = await publisher(store, "one-run").publish(TARGET, digest, unpaced(bot), key=key)
    assert done.state is ClaimState.NEW
    root, *replies = telegram.in_chat(GROUP)
    assert [r.reply_to for r in replies] == [root.message_id] * len(replies)
    assert len(telegram.sent) == done.sent
    shas = [e.commit.short_sha for e in digest.entries]
    heads = re.compile(r"^(?:🔴 High|🟡 Medium|🟢 Low) .*? ([0-9a-f]{7})(?: —|$)", re.MULTILINE)
    shown = [sha for r in replies for sha in heads.findall(r.text)]
    assert sorted(shown) == sorted(shas)  # every analysis once: none repeated, none lost


def message(text: str, message_id: int, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": int(GROUP), "type": "supergroup", "is_forum": True},
        "from": {"id": 42, "is_bot": False, "first_name": "Ann"},
        "text": text,
        **extra,
    }
    if text.startswith("/"):
        body["entities"] = [
            {"type": "bot_command", "offset": 0, "length": len(text.split(maxsplit=1)[0])}
        ]
    return body


@pytest.fixture
async def application(store: SqlStore, telegram: TelegramEmulator) -> AsyncIterator[TelegramApp]:
    app = build_application(
        telegram.token,
        telegram.api_url,
        conversation(store, hostile_day(6)),
        unpaced,
        SqlInboundLog(store.engine),
    )
    await start(app, polling=False, webhook_url="https://bot.example/telegram", secret=SECRET)
    yield app
    await stop(app)


async def settle(telegram: TelegramEmulator, count: int) -> None:
    await until(lambda: len(telegram.sent) >= count)


async def test_webhook_needs_the_secret_and_runs_commands(
    application: TelegramApp, telegram: TelegramEmulator
) -> None:
    assert telegram.webhook["secret_token"] == SECRET
    assert {c["command"] for c in telegram.commands} == {"digest", "explain"}
    web = Starlette(routes=[Route("/tg", webhook_endpoint(application, SECRET), methods=["POST"])])
    update = {
        "update_id": 1,
        "message": message("/digest 2026-02-19", telegram.user_message(GROUP)),
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://t") as c:
        refused = await c.post("/tg", json=update)
        wrong = await c.post("/tg", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "x"})
        accepted = await c.post(
            "/tg", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
    assert refused.status_code == wrong.status_code == 403
    assert accepted.status_code == 200
    await settle(telegram, 2)
    assert "acme/app — 2026-02-19" in telegram.sent[0].text


async def test_bad_command_gets_usage_as_a_reply_to_the_sender(
    application: TelegramApp, telegram: TelegramEmulator
) -> None:
    asked = telegram.user_message(GROUP)
    update = Update.de_json(
        {"update_id": 2, "message": message("/explain", asked)}, application.bot
    )
    await application.process_update(update)
    assert len(telegram.sent) == 1
    assert telegram.sent[0].reply_to == asked
    assert "explain takes one pull request number or commit SHA" in telegram.sent[0].text


async def test_a_reply_to_a_digest_message_is_answered_as_a_reply(
    application: TelegramApp, telegram: TelegramEmulator
) -> None:
    command = message(
        "/digest 2026-02-19",
        telegram.user_message(GROUP),
        message_thread_id=7,
        is_topic_message=True,
    )
    await application.process_update(
        Update.de_json({"update_id": 3, "message": command}, application.bot)
    )
    assert {s.thread_id for s in telegram.sent} == {7}  # forum topic kept
    ours = telegram.sent[-1]
    before = len(telegram.sent)
    bot_message = {
        "message_id": ours.message_id,
        "date": int(time.time()),
        "chat": {"id": int(GROUP), "type": "supergroup"},
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "digestbot"},
        "text": ours.text,
    }
    question_id = telegram.user_message(GROUP)
    question = message("why is this one risky?", question_id, reply_to_message=bot_message)
    await application.process_update(
        Update.de_json({"update_id": 4, "message": question}, application.bot)
    )
    someone_else = {**bot_message, "from": {"id": 43, "is_bot": False, "first_name": "Bo"}}
    other = message("unrelated", telegram.user_message(GROUP), reply_to_message=someone_else)
    await application.process_update(
        Update.de_json({"update_id": 5, "message": other}, application.bot)
    )
    answers = telegram.sent[before:]
    assert len(answers) == 1
    assert answers[0].reply_to == question_id
    assert "stored analysis" in answers[0].text


async def test_polling_receives_and_answers(store: SqlStore, telegram: TelegramEmulator) -> None:
    app = build_application(
        telegram.token,
        telegram.api_url,
        conversation(store, hostile_day(3)),
        unpaced,
        SqlInboundLog(store.engine),
    )
    telegram.updates.append(
        {"update_id": 10, "message": message("/digest help", telegram.user_message(GROUP))}
    )
    await start(app, polling=True, webhook_url=None, secret=None)
    try:
        await settle(telegram, 1)
    finally:
        await stop(app)
    assert "/digest explain" in telegram.sent[0].text


def test_a_webhook_url_without_a_secret_is_refused_at_start() -> None:
    from bot.config import load_settings
    from bot.errors import ConfigError

    env = {
        "TELEGRAM_BOT_TOKEN": "1:x",
        "TELEGRAM_WEBHOOK_URL": "https://bot.example/telegram/webhook",
    }
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET"):
        load_settings(env)


def command_update(telegram: TelegramEmulator, update_id: int, text: str) -> dict[str, Any]:
    return {"update_id": update_id, "message": message(text, telegram.user_message(GROUP))}


async def test_concurrent_commands_in_one_group_share_one_pacer(
    store: SqlStore, telegram: TelegramEmulator
) -> None:
    from adapters.telegram.app import telegram_poster
    from tests.emulators.loopback import RateWindow

    telegram.chat_rate = RateWindow(1, 0.7)  # a group refuses a second message within 0.7 s
    app = build_application(
        telegram.token,
        telegram.api_url,
        conversation(store, hostile_day(6)),
        telegram_poster,  # production pacing: one a second per chat, 20 a minute per group
        SqlInboundLog(store.engine),
    )
    await start(app, polling=False, webhook_url=None, secret=None)
    try:
        updates = [command_update(telegram, 20 + i, "/digest 2026-02-19") for i in range(3)]
        await asyncio.gather(*(app.process_update(Update.de_json(u, app.bot)) for u in updates))
    finally:
        await stop(app)
    roots = [s for s in telegram.sent if s.reply_to is None]
    assert len(roots) == 3  # every asker got the digest
    assert all(any(s.reply_to == r.message_id for s in telegram.sent) for r in roots)
    assert telegram.rate_limited == 0  # one pacer for the group, not one per update


async def test_a_failing_command_is_answered_in_one_line(
    store: SqlStore, telegram: TelegramEmulator
) -> None:
    from bot.conversation import ChannelSetup, Conversation
    from bot.followup import StoredAnswerer
    from bot.ports import FetchProgress
    from bot.storage.chat_store import SqlChatStore
    from tests.chat_fixtures import engine_for

    class Broken(ListSource):
        async def commits(
            self, window: DayWindow, progress: FetchProgress | None = None
        ) -> list[Commit]:
            raise RuntimeError("disk on fire")

    setup = ChannelSetup({"acme/app": Broken("acme/app", [])}, "UTC", "en")
    core = Conversation(
        engine_for(store),
        store,
        SqlChatStore(store.engine),
        lambda _target: setup,
        StoredAnswerer(),
        publisher=publisher(store),
    )
    app = build_application(
        telegram.token, telegram.api_url, core, unpaced, SqlInboundLog(store.engine)
    )
    await start(app, polling=False, webhook_url=None, secret=None)
    try:
        update = command_update(telegram, 30, "/digest 2026-02-19")
        await app.process_update(Update.de_json(update, app.bot))
    finally:
        await stop(app)
    assert [s.text for s in telegram.sent] == [
        "Sorry, that failed on my side; try again in a minute."
    ]
    assert telegram.sent[0].reply_to == update["message"]["message_id"]
    assert "disk on fire" not in telegram.sent[0].text


async def test_an_update_delivered_twice_at_once_is_answered_once(
    store: SqlStore, telegram: TelegramEmulator
) -> None:
    apps = [  # two processes (a deploy overlapping), one database
        build_application(
            telegram.token,
            telegram.api_url,
            conversation(store, hostile_day(3)),
            unpaced,
            SqlInboundLog(store.engine),
        )
        for _ in range(2)
    ]
    for app in apps:
        await start(app, polling=False, webhook_url=None, secret=None)
    try:
        update = command_update(telegram, 40, "/digest help")
        await asyncio.gather(
            apps[0].process_update(Update.de_json(update, apps[0].bot)),
            apps[0].process_update(Update.de_json(update, apps[0].bot)),
            apps[1].process_update(Update.de_json(update, apps[1].bot)),
        )
    finally:
        for app in apps:
            await stop(app)
    assert len(telegram.sent) == 1
    assert "/digest explain" in telegram.sent[0].text


async def test_a_digest_being_built_shows_typing_first_and_a_recall_does_not(
    application: TelegramApp, telegram: TelegramEmulator
) -> None:
    for update_id in (40, 41):  # the same day twice: built, then recalled from the store
        asked = message("/digest 2026-02-19", telegram.user_message(GROUP))
        update = Update.de_json({"update_id": update_id, "message": asked}, application.bot)
        await application.process_update(update)
    typing = [(chat, before) for chat, action, before in telegram.actions if action == "typing"]
    assert typing == [(GROUP, 0)]  # before the first message, and only for the build
    assert "acme/app — 2026-02-19" in telegram.sent[0].text


async def test_start_greets_and_explains_instead_of_posting_a_digest(
    application: TelegramApp, telegram: TelegramEmulator
) -> None:
    asked = telegram.user_message(GROUP)
    update = Update.de_json({"update_id": 50, "message": message("/start", asked)}, application.bot)
    await application.process_update(update)
    assert len(telegram.sent) == 1  # one answer, no digest
    assert telegram.sent[0].reply_to == asked
    assert telegram.sent[0].text.startswith("Hi, I'm digestbot")
    assert "/digest explain #6356" in telegram.sent[0].text
    assert telegram.actions == []
