"""Benchmark: posting a 24-commit digest to Slack and Telegram emulators with real pacing.

Prints, per platform, the messages sent (and how many one message per analysis would take),
the wall time beside the pacing floor, the largest message against the platform's limit, and
peak memory.

    .venv/bin/python bench/post_chat.py --commits 24
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Bot

from adapters.pacing import Pacer
from adapters.slack.app import SLACK_RATES, SlackPoster, slack_client
from adapters.telegram.app import CHAT_RATES, GROUP_RATES, TelegramPoster
from bot.chat import ChatPoster, ChatTarget, thread_plan
from bot.delivery import post_key
from bot.models import RepoDigest
from bot.storage.database import create_engine, migrate
from bot.storage.sql_store import SqlStore
from tests.chat_fixtures import built_digest, publisher
from tests.emulators.slack_api import SlackEmulator
from tests.emulators.telegram_api import TelegramEmulator


async def post(
    store: SqlStore, digest: RepoDigest, poster: ChatPoster, target: ChatTarget
) -> float:
    started = time.perf_counter()
    await publisher(store).publish(target, digest, poster, key=post_key("bench", target, digest))
    return time.perf_counter() - started


def floor_seconds(messages: int, per_second: float, per_minute: int | None) -> float:
    # First message free; then one a second, and a minute's wait after each `per_minute`.
    seconds = (messages - 1) / per_second
    if per_minute and messages > per_minute:
        seconds = max(seconds, 60.0 * ((messages - 1) // per_minute))
    return seconds


async def main(commits: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        migrate(url)
        store = SqlStore(create_engine(url))
        digest = await built_digest(store, commits)
        one_each = 1 + len(thread_plan(digest))
        print(f"digest: {commits} commits; one message per reply would be {one_each} messages")
        with SlackEmulator() as slack:
            poster = SlackPoster(slack_client(slack.token, slack.api_url), Pacer(SLACK_RATES))
            wall = await post(store, digest, poster, ChatTarget("slack", "CBENCH"))
            sizes = [sum(len(t) for t in m.section_texts()) for m in slack.posted]
            n = len(slack.posted)
            print(
                f"slack: {n} messages, {wall:.2f} s (floor {floor_seconds(n, 1.0, None):.2f} s at "
                f"1/s per channel), largest {max(sizes)} of 11000 block characters"
            )
        with TelegramEmulator() as telegram:
            async with Bot(telegram.token, base_url=telegram.api_url) as bot:
                poster_tg = TelegramPoster(bot, (Pacer(CHAT_RATES), Pacer(GROUP_RATES)))
                wall = await post(store, digest, poster_tg, ChatTarget("telegram", "-100999"))
            units = [len(s.text.encode("utf-16-le")) // 2 for s in telegram.sent]
            n = len(telegram.sent)
            floor = floor_seconds(n, 1.0, 20)
            unpacked = floor_seconds(one_each, 1.0, 20)
            print(
                f"telegram: {n} messages, {wall:.2f} s (floor {floor:.2f} s; one message per reply "
                f"would be {one_each}, floor {unpacked:.0f} s), largest {max(units)} of 4096 units"
            )
        await store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"peak RSS: {peak} MiB (both SDKs, the emulators and SQLite in one process)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commits", type=int, default=24)
    asyncio.run(main(parser.parse_args().commits))
