"""The fault matrix: a daily post through each fault, on Slack and Telegram, with no one acting.

Shared by tests/test_faults.py (fast scale: short pacing, short client timeouts) and
bench/faults.py (the production pacing and timeouts). Each case runs the real SDK against the
loopback emulator and the real clock retry loop; `kill -9` is a process that stops dead
(its delivery log hangs, so it never records, renews nor releases again).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import select
from telegram import Bot
from telegram.request import HTTPXRequest

from adapters.pacing import Pacer, Rate
from adapters.slack.poster import SLACK_RATES, TIMEOUT_SECONDS, SlackPoster, slack_client
from adapters.telegram.poster import CHAT_RATES, GROUP_RATES, TelegramPoster
from bot.chat import ChatPoster, CommandEvent
from bot.daily import DailyPoster
from bot.delivery import DEFAULT_LEASE, DeliveryLog, Publisher
from bot.digest import DigestEngine
from bot.followup import StoredAnswerer
from bot.storage.chat_store import SqlChatStore
from bot.storage.delivery_store import SqlDeliveryLog
from bot.storage.schema import DeliveredPartRow, DeliveryRow
from bot.storage.sql_store import SqlStore
from bot.subscriptions import Subscription
from scheduler.clock import DailyClock
from tests.chat_fixtures import engine_for, hostile_day, swollen
from tests.emulators.loopback import Fault, LoopbackServer, RateWindow
from tests.emulators.slack_api import SlackEmulator
from tests.emulators.telegram_api import TelegramEmulator
from tests.factories import ListSource
from tests.simulated import KillableLog, SimClock, utcnow

PLATFORMS = ("slack", "telegram")
FAULTS = (
    "drop before acceptance",
    "drop after acceptance",
    "500 before acceptance",
    "500 after acceptance",
    "429 storm (stricter limit)",
    "answer slower than the timeout",
    "kill -9, restart at once",
    "kill -9, restart after the lease",
    "web + clock at once",
)
# Faults after which the Telegram Bot API cannot tell whether the message exists: the one
# message in flight is sent again (the Bot API has no look-up and no idempotency key).
TELEGRAM_MAY_REPEAT = (
    "drop after acceptance",
    "500 after acceptance",
    "kill -9, restart at once",
    "kill -9, restart after the lease",
)
FIRED_ON = date(2026, 2, 20)  # posts 2026-02-19, the fixtures' day
CHANNEL, GROUP = "CFAULTS", "-100555"
AT_MESSAGE = 3  # the fault strikes the 4th send


@dataclass(frozen=True)
class Scale:
    """Rates and timeouts: the suite's are short, the bench's are the production ones."""

    slack_rates: tuple[Rate, ...]
    chat_rates: tuple[Rate, ...]
    group_rates: tuple[Rate, ...]
    strict: tuple[int, float]  # the emulator's limit in the 429 storm (stricter than ours)
    documented: tuple[int, float]  # the emulator's limit when two processes post at once
    slack_timeout: int  # our client's time-out (the slow answer comes a second later)
    telegram_default_read: float  # PTB's read time-out for calls we do not override


FAST = Scale(
    slack_rates=(Rate(1, 0.05),),
    chat_rates=(Rate(1, 0.05),),
    group_rates=(Rate(20, 3.0),),
    # 2.4 x our pace: the pacer slows to a quarter at most, which leaves room for the jitter of
    # a loaded machine between our send and the emulator's clock (0.2 s left none).
    strict=(1, 0.12),
    documented=(1, 0.05),
    slack_timeout=1,
    telegram_default_read=0.5,
)
PRODUCTION = Scale(
    slack_rates=SLACK_RATES,
    chat_rates=CHAT_RATES,
    group_rates=GROUP_RATES,
    strict=(1, 2.0),
    documented=(1, 1.0),
    slack_timeout=TIMEOUT_SECONDS,
    telegram_default_read=5.0,  # PTB's default
)


@dataclass(frozen=True)
class CaseResult:
    """What one case ended with, as the matrix table shows it."""

    platform: str
    fault: str
    messages: int
    expected: int
    duplicates: int
    missing: int
    rate_limited: int
    seconds: float
    complete: bool


class SwollenEngine:
    """The digest engine with longer analyses, so a Telegram post is several messages too."""

    def __init__(self, engine: DigestEngine) -> None:
        self._engine = engine

    async def build(self, *args: Any, **kwargs: Any) -> Any:
        return swollen(await self._engine.build(*args, **kwargs), words=20)


def subscription(platform: str) -> Subscription:
    where: dict[str, object] = (
        {"slack_channel": CHANNEL} if platform == "slack" else {"telegram_chat": GROUP}
    )
    fields = {"name": "team", "repos": ["acme/app"], "lowest_reply": "low", **where}
    return Subscription.model_validate(fields)


@dataclass
class Process:
    """One digestbot process: its own poster (so its own pacer) and its own claim owner."""

    poster: ChatPoster
    publisher: Publisher
    clock: DailyClock
    daily: DailyPoster


class Case:
    """One platform × fault: the emulator, the database, and the processes that post."""

    def __init__(self, platform: str, fault: str, store: SqlStore, scale: Scale) -> None:
        self.platform, self.fault, self.store, self.scale = platform, fault, store, scale
        self.sim = SimClock()
        self.emulator: LoopbackServer = (
            SlackEmulator() if platform == "slack" else TelegramEmulator()
        )
        self.source = ListSource("acme/app", hostile_day(12))
        self.engine = cast(DigestEngine, SwollenEngine(engine_for(store)))
        self._bots: list[Bot] = []

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Case]:
        with self.emulator:
            try:
                yield self
            finally:
                for bot in self._bots:
                    await bot.shutdown()

    async def poster(self) -> ChatPoster:
        if isinstance(self.emulator, SlackEmulator):
            client = slack_client(
                self.emulator.token, self.emulator.api_url, timeout=self.scale.slack_timeout
            )
            return SlackPoster(client, Pacer(self.scale.slack_rates))
        emulator = cast(TelegramEmulator, self.emulator)
        request = HTTPXRequest(
            connection_pool_size=8, read_timeout=self.scale.telegram_default_read
        )
        bot = Bot(emulator.token, base_url=emulator.api_url, request=request)
        await bot.initialize()
        self._bots.append(bot)
        pacers = (Pacer(self.scale.chat_rates), Pacer(self.scale.group_rates))
        return TelegramPoster(bot, pacers)

    async def process(
        self, owner: str, log: DeliveryLog | None = None, lease: timedelta | None = None
    ) -> Process:
        """A process; with `lease`, it lives in real time (its keep-alive renews that lease)."""
        poster = await self.poster()
        now, sleep = (self.sim.now, self.sim.sleep) if lease is None else (utcnow, asyncio.sleep)
        publisher = Publisher(
            log or SqlDeliveryLog(self.store.engine),
            SqlChatStore(self.store.engine),
            owner=owner,
            lease=lease or DEFAULT_LEASE,
            now=now,
        )
        daily = DailyPoster(
            self.engine, publisher, lambda _spec: self.source, {self.platform: poster}
        )
        clock = DailyClock([subscription(self.platform)], daily.run, now=now, sleep=sleep)
        return Process(poster, publisher, clock, daily)

    def send_path(self) -> str:
        return "chat.postMessage" if self.platform == "slack" else "sendMessage"

    def inject(self) -> None:
        """Script the emulator for this case's fault (the kills and two processes need none)."""
        path, skip = self.send_path(), AT_MESSAGE
        server_error: dict[str, Any] = {
            "ok": False,
            "error_code": 500,
            "description": "Internal Server Error",
        }
        late = (
            self.scale.slack_timeout + 1.0
            if self.platform == "slack"
            else self.scale.telegram_default_read + 1.0
        )
        faults = {
            "drop before acceptance": Fault(0, path_contains=path, skip=skip),
            "drop after acceptance": Fault(0, path_contains=path, skip=skip, after=True),
            "500 before acceptance": Fault(500, server_error, path_contains=path, skip=skip),
            "500 after acceptance": Fault(
                500, server_error, path_contains=path, skip=skip, after=True
            ),
            "answer slower than the timeout": Fault(
                None, path_contains=path, skip=skip, after=True, delay=late
            ),
        }
        if self.fault in faults:
            self.emulator.fail(faults[self.fault])
        limit = self.scale.strict if self.fault.startswith("429") else self.scale.documented
        if self.fault.startswith("429") or self.fault.startswith("web"):
            self._limit(RateWindow(*limit))

    def _limit(self, window: RateWindow) -> None:
        if isinstance(self.emulator, SlackEmulator):
            self.emulator.channel_rate = window
        else:
            cast(TelegramEmulator, self.emulator).chat_rate = window


async def _one_process(case: Case) -> bool:
    process = await case.process("clock")
    return await process.clock.complete(subscription(case.platform), FIRED_ON)


async def _killed_then_restarted(case: Case, *, after_lease: bool) -> bool:
    dead_log = KillableLog(SqlDeliveryLog(case.store.engine), kill_at=AT_MESSAGE + 1)
    first = await case.process("clock-before-kill", dead_log)
    dying = asyncio.create_task(first.clock.complete(subscription(case.platform), FIRED_ON))
    await dead_log.killed.wait()
    if after_lease:
        await case.sim.sleep(DEFAULT_LEASE.total_seconds() + 1)
    second = await case.process("clock-after-restart")
    try:
        return await second.clock.complete(subscription(case.platform), FIRED_ON)
    finally:
        dying.cancel()


async def _web_and_clock(case: Case) -> bool:
    """The clock's scheduled post, and the web process posting the same day (a `post`) and a
    `/digest` command (in Chinese, so its messages differ) in the same chat, all at once."""
    from bot.conversation import ChannelSetup, Conversation

    # Both live at once, so both keep real time: the one waiting re-checks the claim when the
    # other's (short) lease could run out, and finds it renewed until the post is done.
    lease = timedelta(seconds=2)
    clock, web = await case.process("clock", lease=lease), await case.process("web", lease=lease)
    setup = ChannelSetup({"acme/app": case.source}, "UTC", "zh")
    conversation = Conversation(
        case.engine,
        case.store,
        SqlChatStore(case.store.engine),
        lambda _t: setup,
        StoredAnswerer(),
        publisher=web.publisher,
        now=lambda: datetime(2026, 2, 20, 9, tzinfo=UTC),
    )
    target = subscription(case.platform).target
    command = CommandEvent(target, "U1", "2026-02-19", "web-command-1")
    done = await asyncio.gather(
        clock.clock.complete(subscription(case.platform), FIRED_ON),
        web.clock.complete(subscription(case.platform), FIRED_ON),
        conversation.on_command(command, web.poster),
    )
    return bool(done[0] and done[1])


SCENARIOS: dict[str, Callable[[Case], Awaitable[bool]]] = {
    "kill -9, restart at once": lambda case: _killed_then_restarted(case, after_lease=False),
    "kill -9, restart after the lease": lambda case: _killed_then_restarted(case, after_lease=True),
    "web + clock at once": _web_and_clock,
}


async def run_case(platform: str, fault: str, store: SqlStore, scale: Scale = FAST) -> CaseResult:
    """Run one case to its end; the result says what a person would find in the chat."""
    case = Case(platform, fault, store, scale)
    async with case.running():
        case.inject()
        started = time.monotonic()
        finished = await SCENARIOS.get(fault, _one_process)(case)
        seconds = time.monotonic() - started + case.sim.skipped
        return await _tally(case, finished, seconds)


async def _tally(case: Case, finished: bool, seconds: float) -> CaseResult:
    expected, complete = await _recorded(case.store)
    if isinstance(case.emulator, SlackEmulator):
        texts = [_slack_identity(p) for p in case.emulator.ours(CHANNEL)]
        limited = case.emulator.rate_limited
    else:
        telegram = cast(TelegramEmulator, case.emulator)
        texts = [(s.html, str(s.reply_to or "")) for s in telegram.in_chat(GROUP)]
        limited = telegram.rate_limited
    counts = Counter(texts)
    duplicates = sum(n - 1 for n in counts.values())
    missing = max(0, expected - len(counts))
    return CaseResult(
        case.platform,
        case.fault,
        len(texts),
        expected,
        duplicates,
        missing,
        limited,
        seconds,
        finished and complete and missing == 0,
    )


def _slack_identity(posted: Any) -> tuple[str, str]:
    marker = ((posted.metadata or {}).get("event_payload") or {}).get("part", "")
    return (marker or posted.all_text(), "")


async def _recorded(store: SqlStore) -> tuple[int, bool]:
    """Messages every post should have (its recorded parts), and whether all are done."""
    async with store.engine.connect() as conn:
        posts = (await conn.execute(select(DeliveryRow.state))).scalars().all()
        parts = (await conn.execute(select(DeliveredPartRow.message_id))).scalars().all()
    return len(parts), bool(posts) and all(s == "done" for s in posts) and all(parts)
