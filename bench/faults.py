"""Benchmark: the fault matrix, a daily post through each fault on Slack and Telegram.

Each case posts one day (12 commits: 13 Slack messages, 7 Telegram messages) through the real
SDKs to the loopback emulators, driven by the clock's own retry loop, with no one acting.
Prints, per platform and fault: the messages in the chat, the messages the post should have,
duplicates, 429s answered, and the time to completion (wall time plus the waits the clock was
spared: a lease to run out, a backoff; those are not slept here). `--kill` also runs the two
kill -9 cases for real: a `digestbot clock` subprocess killed mid-thread, then started again.

    .venv/bin/python bench/faults.py                 # production pacing and time-outs
    .venv/bin/python bench/faults.py --scale fast    # the suite's scale
    .venv/bin/python bench/faults.py --kill          # plus real subprocess kills
    .venv/bin/python bench/faults.py --only "slack web"
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.storage.database import create_engine, migrate
from bot.storage.sql_store import SqlStore
from tests.fault_matrix import FAST, FAULTS, PLATFORMS, PRODUCTION, CaseResult, run_case

HEADER = (
    f"{'platform':<9} {'fault':<37} {'messages':>8} {'expected':>8} {'dups':>4} {'429s':>4} "
    f"{'time s':>7}  complete"
)


def row(result: CaseResult) -> str:
    """One line of the table."""
    return (
        f"{result.platform:<9} {result.fault:<37} {result.messages:>8} {result.expected:>8} "
        f"{result.duplicates:>4} {result.rate_limited:>4} {result.seconds:>7.1f}  "
        f"{'yes' if result.complete else 'NO'}"
    )


async def one(platform: str, fault: str, scale_name: str) -> CaseResult:
    """A case on a database of its own."""
    scale = FAST if scale_name == "fast" else PRODUCTION
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/faults.sqlite3"
        migrate(url)
        store = SqlStore(create_engine(url))
        try:
            return await run_case(platform, fault, store, scale)
        finally:
            await store.close()


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes), as `uptime` shows them."""
    return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


async def main(scale_name: str, kill: bool, only: str) -> None:
    print(f"$ .venv/bin/python bench/faults.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"{load()} (start)")
    print(HEADER)
    for platform in PLATFORMS:
        for fault in FAULTS:
            if only in f"{platform} {fault}":
                print(row(await one(platform, fault, scale_name)), flush=True)
    if kill:
        from bench.kill import kill_cases

        for line in await kill_cases():
            print(line, flush=True)
    print(f"{load()} (end)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=("production", "fast"), default="production")
    parser.add_argument("--kill", action="store_true", help="also kill a real clock process")
    parser.add_argument("--only", default="", help="cases whose 'platform fault' contains this")
    options = parser.parse_args()
    asyncio.run(main(options.scale, options.kill, options.only))
