"""Benchmark: task queues side by side, enqueue→start latency and throughput.

For each system one worker process (concurrency 8) runs two kinds of job: `noop` and `lock`
(a PostgreSQL advisory lock and a row update, as a digest job's claim does). Latency: jobs
enqueued one at a time into an idle queue (median and p95 of start − enqueue). Throughput:
a burst of jobs enqueued back to back, from the first enqueue to the last job's end.
Redis (Debian's redis-server) is started on a spare port; PostgreSQL is the machine's.
Repeated `--rounds` times; medians are printed. arq pins redis-py < 6 and Celery needs >= 6.1,
so Celery and Dramatiq run from a venv of their own (pip install celery dramatiq 'redis>=6.1'
'psycopg[binary,pool]' procrastinate) with that venv's python running this same script.

    .venv/bin/python bench/queue_compare.py --rounds 3   # procrastinate arq saq celery dramatiq
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from procrastinate.schema import SchemaManager

from bench.queue_systems import ENQUEUERS, run_worker

DEFAULT_DSN = "postgresql://digestbot:digestbot@127.0.0.1:5432/digestbot_queuebench"
REDIS_PORT = 6391


def prepare(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
        conn.execute(SchemaManager.get_schema())
        conn.execute("CREATE TABLE bench_counters (id int PRIMARY KEY, n int NOT NULL)")
        conn.execute("INSERT INTO bench_counters SELECT g, 0 FROM generate_series(0, 3) g")


def lines(out: Path) -> list[list[str]]:
    if not out.exists():
        return []
    return [line.split() for line in out.read_text().splitlines() if line]


async def wait_for(out: Path, count: int) -> list[list[str]]:
    async with asyncio.timeout(600):  # a hang guard
        while len(done := lines(out)) < count:  # noqa: ASYNC110 (another process writes it)
            await asyncio.sleep(0.002)
    return done


def clear(out: Path) -> None:
    out.unlink()


async def measure(
    system: str, kind: str, args: argparse.Namespace, out: Path
) -> tuple[float, float, float]:
    enqueue, close = await ENQUEUERS[system](args.dsn, args.redis)
    try:
        for i in range(args.latency_jobs):  # one at a time, into an idle queue
            await enqueue(kind, time.time())
            await wait_for(out, i + 1)
        latencies = [float(s) - float(e) for _, e, s, _ in lines(out)]
        clear(out)
        first = time.time()
        for _ in range(args.burst_jobs):
            await enqueue(kind, time.time())
        done = await wait_for(out, args.burst_jobs)
        clear(out)
    finally:
        await close()
    last = max(float(f) for *_, f in done)
    p95 = sorted(latencies)[int(0.95 * (len(latencies) - 1))]
    return statistics.median(latencies) * 1000, p95 * 1000, args.burst_jobs / (last - first)


SYNC_WORKERS = {
    # Thread pools of 8, like the asyncio workers' concurrency; both need Redis here.
    "celery": [
        "celery",
        "-A",
        "bench.queue_sync:celery_app",
        "worker",
        "--pool",
        "threads",
        "-c",
        "8",
        "--loglevel",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
    ],
    "dramatiq": ["dramatiq", "bench.queue_sync", "--processes", "1", "--threads", "8"],
}


def worker_command(system: str, args: argparse.Namespace, out: Path) -> list[str]:
    if system in SYNC_WORKERS:
        return [sys.executable, "-m", *SYNC_WORKERS[system]]
    options = ["--out", str(out), "--dsn", args.dsn, "--redis", args.redis]
    return [sys.executable, __file__, "--worker", system, *options]


def one_round(
    system: str, args: argparse.Namespace, tmp: Path
) -> dict[str, tuple[float, float, float]]:
    prepare(args.dsn)
    subprocess.run(
        ["redis-cli", "-p", str(REDIS_PORT), "flushall"], check=True, capture_output=True
    )
    out = tmp / f"{system}.jobs"
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root, "QUEUE_BENCH_REDIS": args.redis}
    env.update(QUEUE_BENCH_DSN=args.dsn, QUEUE_BENCH_OUT=str(out))
    worker = subprocess.Popen(worker_command(system, args, out), env=env, cwd=root)
    try:
        results = {}
        for kind in ("noop", "lock"):
            results[kind] = asyncio.run(measure(system, kind, args, out))
        return results
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    systems = ["procrastinate", "arq", "saq", "celery", "dramatiq"]
    parser.add_argument("--systems", nargs="+", default=systems)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-jobs", type=int, default=50)
    parser.add_argument("--burst-jobs", type=int, default=1000)
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--redis", default=f"redis://127.0.0.1:{REDIS_PORT}/0")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args()


def uptime() -> str:
    return subprocess.run(["uptime"], check=False, capture_output=True, text=True).stdout.strip()


def compare(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for system in args.systems:
            rounds = [one_round(system, args, Path(tmp)) for _ in range(args.rounds)]
            for kind in ("noop", "lock"):
                median = [statistics.median(r[kind][i] for r in rounds) for i in range(3)]
                burst = f"burst of {args.burst_jobs}: {median[2]:7.0f} jobs/s"
                print(
                    f"{system:13} {kind:4}: enqueue→start median {median[0]:7.1f} ms, "
                    f"p95 {median[1]:7.1f} ms; {burst}",
                    flush=True,
                )


def main() -> None:
    args = parse_args()
    if args.worker:
        run_worker(args.worker, args.out, args.dsn, args.redis, concurrency=8)
        return
    os.environ["QUEUE_BENCH_REDIS"] = args.redis  # read by bench.queue_sync's brokers
    print("$ " + " ".join(["bench/queue_compare.py", *sys.argv[1:]]))
    print(f"load before: {uptime()}")
    ping = ["redis-cli", "-p", str(REDIS_PORT), "ping"]
    redis = subprocess.Popen(
        ["redis-server", "--port", str(REDIS_PORT), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        while subprocess.run(ping, check=False, capture_output=True).returncode:
            time.sleep(0.05)  # until Redis answers
        compare(args)
    finally:
        redis.terminate()
        redis.wait(timeout=30)
    print(f"load after: {uptime()}")


if __name__ == "__main__":
    main()
