"""Benchmark: what SQLite's journal settings cost the bot's writes (rollback journal vs WAL).

Three settings side by side, each on a fresh database file per run: the rollback journal with
synchronous=FULL (SQLite's default, what digestbot used before), WAL with FULL, and WAL with
NORMAL; digestbot uses WAL with FULL (bot/storage/database.py says why). Three write patterns:
- analyses cached one transaction each (model answers arriving one by one),
- a post's delivery log: claim, then intend + record for each message, then finish,
- a day's commits, 50 per transaction (patches compressed).
Prints the median milliseconds per transaction over --runs runs.

    .venv/bin/python bench/sqlite_journal.py --runs 5
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.analyzers.rules import RulesAnalyzer
from bot.config import RulesConfig
from bot.storage import database
from bot.storage.delivery_store import SqlDeliveryLog
from bot.storage.sql_store import SqlStore
from tests.factories import day_of_commits

SETTINGS = (("DELETE", "FULL"), ("WAL", "FULL"), ("WAL", "NORMAL"))
ANALYSES, MESSAGES, COMMITS = 300, 100, 300


def _fresh(folder: Path, journal: str) -> str:
    url = f"sqlite:///{folder / f'db-{time.monotonic_ns()}.sqlite3'}"
    database.migrate(url)  # leaves the file in WAL mode
    engine = create_sync_engine(database.sync_url(url))
    with engine.connect() as connection:
        connection.exec_driver_sql(f"PRAGMA journal_mode={journal}")
    engine.dispose()
    return url


async def _analyses(store: SqlStore) -> int:
    rules = RulesAnalyzer(RulesConfig())
    for commit in day_of_commits(ANALYSES):
        await store.put_analyses([rules.analyze_now(commit, "en")])
    return ANALYSES


async def _delivery(store: SqlStore) -> int:
    log = SqlDeliveryLog(store.engine)
    now = datetime.now(UTC)
    await log.claim("bench-post", "bench", now, timedelta(minutes=3))
    for index in range(MESSAGES):
        await log.intend("bench-post", "bench", index, now)
        await log.record("bench-post", "bench", index, f"m{index}", now)
    await log.finish("bench-post", "bench", now)
    return 2 * MESSAGES + 2


async def _commits(store: SqlStore) -> int:
    commits = day_of_commits(COMMITS)
    for start in range(0, COMMITS, 50):
        await store.put_commits(commits[start : start + 50])
    return -(-COMMITS // 50)


async def _once(
    url: str, setting: tuple[str, str], pattern: Callable[[SqlStore], Awaitable[int]]
) -> float:
    journal, synchronous = setting
    engine = database.create_engine(url)

    def prepare(connection: Any, _record: Any) -> None:
        connection.cursor().execute(f"PRAGMA synchronous={synchronous}")

    event.listen(engine.sync_engine, "connect", prepare)
    store = SqlStore(engine)
    async with store.engine.connect() as connection:  # settings as the connections have them
        mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
        sync = (await connection.execute(text("PRAGMA synchronous"))).scalar()
    started = time.perf_counter()
    transactions = await pattern(store)
    elapsed = time.perf_counter() - started
    await store.close()
    # the connections really run with the setting measured
    assert str(mode).upper() == journal and sync == {"FULL": 2, "NORMAL": 1}[synchronous]
    return 1000 * elapsed / transactions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"$ {' '.join(sys.argv)}")
    print(f"load {os.getloadavg()[0]:.2f} (1-min average); ms per transaction, median")
    patterns = {
        f"analysis, 1 per transaction ({ANALYSES})": _analyses,
        f"delivery log: claim, intend + record x {MESSAGES}, finish": _delivery,
        f"commits, 50 per transaction ({COMMITS} commits)": _commits,
    }
    print("| write | " + " | ".join(f"{j} + {s}" for j, s in SETTINGS) + " |")
    print("| --- " * (len(SETTINGS) + 1) + "|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, pattern in patterns.items():
            cells = []
            for setting in SETTINGS:
                runs = [
                    asyncio.run(_once(_fresh(Path(tmp), setting[0]), setting, pattern))
                    for _ in range(args.runs)
                ]
                cells.append(f"{statistics.median(runs):.2f} ms")
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
