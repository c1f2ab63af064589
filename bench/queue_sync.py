"""Celery and Dramatiq for bench/queue_compare.py: thread-pool workers on Redis (no asyncio).

Configured from the environment (QUEUE_BENCH_REDIS, QUEUE_BENCH_DSN, QUEUE_BENCH_OUT) because
their workers import this module by name.
"""

from __future__ import annotations

import os
import time

import dramatiq
import psycopg_pool
from celery import Celery
from dramatiq.brokers.redis import RedisBroker

REDIS = os.environ.get("QUEUE_BENCH_REDIS", "redis://127.0.0.1:6391/0")
DSN = os.environ.get("QUEUE_BENCH_DSN", "")
OUT = os.environ.get("QUEUE_BENCH_OUT", "")
_pools: list[psycopg_pool.ConnectionPool] = []  # one per worker process, opened on first use


def record(kind: str, enqueued: float, slot: int) -> None:
    """The same work and record as the asyncio systems' jobs, with a blocking pool."""
    started = time.time()
    if kind == "lock":
        if not _pools:
            _pools.append(psycopg_pool.ConnectionPool(DSN, min_size=1, max_size=8))
        with _pools[0].connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (slot % 4,))
            conn.execute("UPDATE bench_counters SET n = n + 1 WHERE id = %s", (slot % 4,))
    line = f"{kind} {enqueued:.6f} {started:.6f} {time.time():.6f}\n"
    fd = os.open(OUT, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


celery_app = Celery("bench", broker=REDIS)
celery_app.conf.update(task_ignore_result=True, worker_hijack_root_logger=False)


@celery_app.task(name="bench.job")
def celery_job(kind: str, enqueued: float, slot: int) -> None:
    record(kind, enqueued, slot)


dramatiq.set_broker(RedisBroker(url=REDIS))


@dramatiq.actor(actor_name="bench_job", max_retries=0)
def dramatiq_job(kind: str, enqueued: float, slot: int) -> None:
    record(kind, enqueued, slot)
