"""Benchmark: what following chat subscriptions live costs the clock process.

The clock polls one revision number every `[team] poll_seconds` (10 s); only when it moved does
it reload the subscriptions and move their jobs. This measures, side by side on one database:
the revision read (every poll), a reload of every subscription (what polling the table itself
would cost each time), a whole sync after a change (reload + jobs), and the re-read a job
makes when it fires. Medians of `--repeat` runs, after a warm-up; the ratio is reload/revision.

    .venv/bin/python bench/team_poll.py --subscriptions 500 --repeat 200
    .venv/bin/python bench/team_poll.py --database postgresql://localhost/bench --repeat 200
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.chat import ChatTarget
from bot.daily import DailyResult
from bot.storage.database import create_engine, migrate
from bot.storage.team_store import SqlSubscriptionStore
from bot.subscriptions import Subscription
from bot.team import GITHUB, ChatSubscription, chat_name, destination
from scheduler.clock import DailyClock
from scheduler.live import LiveSchedule

ZONES = ("Europe/Berlin", "Asia/Tokyo", "America/New_York", "UTC")


def item(n: int, minute: int = 0) -> ChatSubscription:
    target = ChatTarget("slack", f"C{n:06d}")
    repo = f"acme/repo{n}"
    values = {
        "name": chat_name(target, repo),
        "repos": (GITHUB + repo,),
        **destination(target),
        "time": f"{n % 24:02d}:{minute:02d}",
        "tz": ZONES[n % len(ZONES)],
    }
    now = datetime.now(UTC)
    return ChatSubscription(Subscription.model_validate(values), repo, "U1", now, now)


async def median_us(call: Callable[[], Awaitable[object]], repeat: int) -> float:
    await call()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs) * 1e6


async def no_run(subscription: Subscription, fired_on: date) -> list[DailyResult]:
    return []


async def measure(url: str, count: int, repeat: int) -> dict[str, float]:
    migrate(url)
    engine = create_engine(url)
    store = SqlSubscriptionStore(engine)
    for n in range(count):
        await store.save(item(n))
    live = LiveSchedule(store, DailyClock([], no_run))
    await live.poll()
    minute = iter(range(1, 10**6))

    async def changed_sync() -> None:
        await store.save(item(0, next(minute) % 60))  # one subscription moved: a new revision
        await live.poll()

    found = {
        "revision (every poll)": await median_us(store.revision, repeat),
        "reload all subscriptions": await median_us(store.chat_subscriptions, max(9, repeat // 10)),
        "sync after a change (save + reload + jobs)": await median_us(
            changed_sync, max(9, repeat // 10)
        ),
        "re-read when a job fires": await median_us(lambda: store.get(item(1).name), repeat),
    }
    await engine.dispose()
    return found


def _hidden(arg: str) -> str:
    """An argument as printed: a database URL without its password."""
    if "://" not in arg:
        return arg
    return make_url(arg).render_as_string(hide_password=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a URL; default: a fresh SQLite file")
    parser.add_argument("--subscriptions", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        found = asyncio.run(measure(url, args.subscriptions, args.repeat))
    shown = [_hidden(a) for a in sys.argv]
    print(f"$ {' '.join(shown)}")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"database: {url.split(':', 1)[0]}, {args.subscriptions} chat subscriptions")
    for what, micros in found.items():
        print(f"{what:45s} {micros / 1000:9.3f} ms (median)")
    ratio = found["reload all subscriptions"] / found["revision (every poll)"]
    print(f"reload / revision: {ratio:.0f}x; a day of 10 s polls reads the revision 8,640 times")


if __name__ == "__main__":
    main()
