"""A group runs its digests from Telegram, end to end through python-telegram-bot and the Bot
API emulator: admins (getChatMember) subscribe and change; inline keyboards on every analysis,
callback queries answered before the work, each button once, the diff in a private chat."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import pytest
from telegram import Update

from adapters.telegram.app import (
    TelegramApp,
    build_application,
    shared_poster,
    start,
    stop,
)
from adapters.telegram.team import START_PRIVATE, TelegramAdmins
from bot.chat import ChatTarget, MessageRef
from bot.days import DayWindow
from bot.delivery import post_key
from bot.feedback import Tally
from bot.storage.sql_store import SqlStore
from bot.team import chat_name
from tests.emulators.github_api import GitHubEmulator
from tests.emulators.telegram_api import Sent, TelegramEmulator
from tests.team_fixtures import Now, TeamRig, berlin, days_of_commits
from tests.test_telegram import message, unpaced

GROUP = "-100123"  # the chat tests.test_telegram's messages are in
TARGET = ChatTarget("telegram", GROUP)
NAME = chat_name(TARGET, "acme/app")
ADMIN, MEMBER, OTHER = 42, 43, 44
ANONYMOUS_ADMIN_BOT = 1087968824  # Telegram's GroupAnonymousBot
UPDATE_IDS = itertools.count(1000)  # Telegram's ids grow across restarts: one counter for all


@pytest.fixture
def telegram() -> Iterator[TelegramEmulator]:
    with TelegramEmulator() as emulator:
        emulator.admins[GROUP] = {ADMIN}
        yield emulator


@pytest.fixture
def github() -> Iterator[GitHubEmulator]:
    with GitHubEmulator() as emulator:
        emulator.add_repo("acme/app", days_of_commits(date(2026, 11, 24), 4))
        yield emulator


@pytest.fixture
def now() -> Now:
    return Now(berlin(26, 15))


class Group:
    """A PTB application over the team rig; updates are processed as they would arrive."""

    def __init__(self, rig: TeamRig, app: TelegramApp, telegram: TelegramEmulator) -> None:
        self.rig, self.app, self.telegram = rig, app, telegram
        self._updates = 100

    async def update(self, body: dict[str, Any]) -> None:
        self._updates += 1
        await self.app.process_update(
            Update.de_json({"update_id": self._updates, **body}, self.app.bot)
        )

    async def command(self, text: str, user: int = ADMIN, **extra: Any) -> int:
        asked = self.telegram.user_message(GROUP)
        sender = {"id": user, "is_bot": user == ANONYMOUS_ADMIN_BOT, "first_name": f"u{user}"}
        await self.update({"message": message(text, asked, **{"from": sender, **extra})})
        return asked

    async def press(self, sent: Sent, kind: str, user: int, row: int = 0) -> None:
        code = {"explain": "e", "diff": "d", "up": "u", "down": "n"}[kind]
        data = next(d for d in sent.keyboard[row] if d["callback_data"][3] == code)["callback_data"]  # type: ignore[index]
        update = self.telegram.press(user, sent, data, next(UPDATE_IDS))
        await self.app.process_update(Update.de_json(update, self.app.bot))


async def group_for(rig: TeamRig, telegram: TelegramEmulator) -> AsyncIterator[Group]:
    app = build_application(
        telegram.token, telegram.api_url, rig.conversation(), unpaced, rig.seen, buttons=rig.buttons
    )
    await start(app, polling=False, webhook_url="https://bot.example/tg", secret="s")
    rig.authorities["telegram"] = TelegramAdmins(app.bot)
    rig.posters["telegram"] = shared_poster(app)
    try:
        yield Group(rig, app, telegram)
    finally:
        await stop(app)


@pytest.fixture
async def group(
    store: SqlStore, telegram: TelegramEmulator, github: GitHubEmulator, now: Now
) -> AsyncIterator[Group]:
    async for made in group_for(TeamRig(store, github, now), telegram):
        yield made


def texts(telegram: TelegramEmulator) -> list[str]:
    return [s.text for s in telegram.in_chat(GROUP)]


async def test_admins_subscribe_and_change_and_everyone_else_is_refused(
    group: Group, telegram: TelegramEmulator, now: Now
) -> None:
    assert "callback_query" in telegram.webhook["allowed_updates"]
    asked = await group.command("/digest subscribe acme/app at 09:00 tz Europe/Berlin", MEMBER)
    refusal = telegram.sent[-1]
    assert (
        refusal.text
        == "You can't change what this chat gets: only this group's administrators can."
    )
    assert refusal.reply_to == asked  # to the sender (Telegram has no message only they see)
    assert await group.rig.subscriptions.chat_subscriptions() == []
    await group.command("/digest subscribe acme/app at 09:00 tz Europe/Berlin", ADMIN)
    assert texts(telegram)[-1].startswith("Subscribed this chat to acme/app: daily at 09:00")
    anonymous = {"sender_chat": {"id": int(GROUP), "type": "supergroup", "title": "Team"}}
    await group.command("/digest settings acme/app at 10:00", ANONYMOUS_ADMIN_BOT, **anonymous)
    assert texts(telegram)[-1].startswith("Changed acme/app: daily at 10:00 Europe/Berlin")

    rig = group.rig
    await rig.poll()
    assert rig.next_fire(NAME) == berlin(27, 10)
    now.moment = berlin(27, 10)
    await rig.fire(NAME)
    root = next(s for s in telegram.in_chat(GROUP) if s.text.startswith("acme/app — 2026-11-26"))
    assert all(len(d.encode()) <= 64 for s in telegram.sent for d in s.callbacks())
    replies = [s for s in telegram.in_chat(GROUP) if s.reply_to == root.message_id]
    assert replies and all(s.callbacks() for s in replies)  # every analysis has its buttons

    await group.command("/digest unsubscribe acme/app", ADMIN)
    assert texts(telegram)[-1] == "Unsubscribed this chat from acme/app: no more posts."
    await rig.poll()
    assert rig.next_fire(NAME) is None


async def posted(group: Group) -> Sent:
    """A day posted to the group; its first reply (an analysis with its keyboard)."""
    rig = group.rig
    src = rig.source("acme/app")
    digest = await rig.engine.build(src, DayWindow(date(2026, 11, 26), "Europe/Berlin"), "en")
    key = post_key("daily", TARGET, digest)
    outcome = await rig.publisher.publish(TARGET, digest, shared_poster(group.app), key=key)
    assert outcome.root is not None
    root = int(outcome.root.message_id)
    return next(s for s in group.telegram.in_chat(GROUP) if s.reply_to == root)


def calls(telegram: TelegramEmulator) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in telegram.requests]


async def test_explain_is_answered_first_and_posted_in_the_thread_once(
    group: Group, telegram: TelegramEmulator
) -> None:
    reply = await posted(group)
    before = len(telegram.sent)
    mark = len(telegram.requests)
    await group.press(reply, "explain", ADMIN)
    await group.press(reply, "explain", MEMBER)
    new = telegram.sent[before:]
    assert len(new) == 1 and new[0].reply_to == reply.reply_to  # in the digest's thread, once
    assert new[0].text.startswith("No model is configured, so this is the stored analysis.")
    order = calls(telegram)[mark:]
    assert order.index("answerCallbackQuery") < order.index("sendMessage")  # answer, then work
    short = reply.callbacks()[0].split(":")[2][:7]
    assert [a.get("text") for a in telegram.answers] == [
        f"Explaining {short} in the thread…",
        f"The explanation of {short} is already in this thread.",
    ]


async def test_show_diff_goes_to_a_private_chat_or_asks_for_one(
    group: Group, telegram: TelegramEmulator
) -> None:
    reply = await posted(group)
    await group.press(reply, "diff", OTHER)  # never opened a chat with the bot
    assert telegram.answers[-1]["text"] == START_PRIVATE
    assert telegram.answers[-1]["show_alert"] is True
    assert telegram.in_chat(str(OTHER)) == []
    telegram.started.add(str(OTHER))  # they tap Start in a private chat with the bot
    await group.press(reply, "diff", OTHER)
    await group.press(reply, "diff", OTHER)  # a double tap: one diff
    private = telegram.in_chat(str(OTHER))
    assert private[0].text.startswith("The diff of ")
    assert len(private) >= 2 and all("<pre>" in s.html for s in private[1:])
    assert telegram.answers[-1]["text"].endswith("is on its way to you.")
    assert all(len(s.text.encode("utf-16-le")) // 2 <= 4096 for s in private)


async def test_votes_count_once_and_a_press_after_a_restart_works(
    group: Group,
    telegram: TelegramEmulator,
    store: SqlStore,
    github: GitHubEmulator,
    now: Now,
) -> None:
    reply = await posted(group)
    await group.press(reply, "up", ADMIN)
    await group.press(reply, "up", ADMIN)
    short = reply.callbacks()[0].split(":")[2][:7]
    assert [a["text"] for a in telegram.answers] == [
        f"Thanks: 👍 noted for {short}.",
        f"You already voted 👍 on {short}: it counts once.",
    ]
    async for restarted in group_for(TeamRig(store, github, now), telegram):  # a new process
        await restarted.press(reply, "down", MEMBER)
    link = await group.rig.chat.get_link(MessageRef(TARGET, str(reply.message_id)))
    assert link is not None
    sha = next(s for s in link.shas if s.startswith(reply.callbacks()[0].split(":")[2]))
    assert await group.rig.votes.counts("acme/app", [sha]) == {sha: Tally(1, 1)}
    ids = [a["callback_query_id"] for a in telegram.answers]
    assert len(ids) == len(set(ids)) == 3  # each press answered, once


async def test_a_bad_client_s_callback_data_does_nothing(
    group: Group, telegram: TelegramEmulator
) -> None:
    reply = await posted(group)
    for data in ("dg:u:zz'; drop", "dg:x:0200cccc", "other:thing"):  # the last is not ours
        update = telegram.press(MEMBER, reply, data, next(UPDATE_IDS))
        await group.app.process_update(Update.de_json(update, group.app.bot))
    said = [(a.get("text"), a.get("show_alert")) for a in telegram.answers]
    assert said == [("I no longer know what this message is about.", True), (None, False)]
    assert await group.rig.votes.disputed("acme/app") == {}
