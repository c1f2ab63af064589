"""The task queues compared by bench/queue_compare.py: a worker and an enqueuer for each.

Each job appends `kind enqueued started finished` to a file (one O_APPEND write), so every
system is timed the same way. `lock` jobs take a PostgreSQL advisory lock (one of 4 keys)
and update a counter row under it, as a digest job's claim or lease does.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg_pool

Enqueue = Callable[[str, float], Awaitable[None]]
LOCK_SQL = "SELECT pg_advisory_xact_lock(%s)"
BUMP_SQL = "UPDATE bench_counters SET n = n + 1 WHERE id = %s"


class Recorder:
    """What every worker shares: the result file and (for lock jobs) a PostgreSQL pool."""

    def __init__(self, out: str, dsn: str) -> None:
        self.out = out
        self.pool = psycopg_pool.AsyncConnectionPool(dsn, min_size=1, max_size=8, open=False)

    async def run(self, kind: str, enqueued: float, slot: int = 0) -> None:
        started = time.time()
        if kind == "lock":
            async with self.pool.connection() as conn, conn.transaction():
                await conn.execute(LOCK_SQL, (slot % 4,))
                await conn.execute(BUMP_SQL, (slot % 4,))
        line = f"{kind} {enqueued:.6f} {started:.6f} {time.time():.6f}\n"
        fd = os.open(self.out, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


async def procrastinate_worker(recorder: Recorder, dsn: str, redis: str, concurrency: int) -> None:
    app = _procrastinate_app(dsn, recorder)
    async with app.open_async():
        await app.run_worker_async(concurrency=concurrency, delete_jobs="always")


def _procrastinate_app(dsn: str, recorder: Recorder | None) -> Any:
    from procrastinate import App, PsycopgConnector

    app = App(connector=PsycopgConnector(conninfo=dsn, max_size=10))

    @app.task(name="bench.job")
    async def job(kind: str, enqueued: float, slot: int) -> None:
        assert recorder is not None
        await recorder.run(kind, enqueued, slot)

    return app


async def procrastinate_enqueuer(
    dsn: str, redis: str
) -> tuple[Enqueue, Callable[[], Awaitable[None]]]:
    app = _procrastinate_app(dsn, None)
    await app.open_async()
    counter = iter(range(10**9))

    async def enqueue(kind: str, enqueued: float) -> None:
        await app.configure_task("bench.job").defer_async(
            kind=kind, enqueued=enqueued, slot=next(counter)
        )

    return enqueue, app.close_async


async def arq_worker(recorder: Recorder, dsn: str, redis: str, concurrency: int) -> None:
    from arq.connections import RedisSettings
    from arq.worker import Worker

    async def job(ctx: dict[str, Any], kind: str, enqueued: float, slot: int) -> None:
        await recorder.run(kind, enqueued, slot)

    job.__qualname__ = "job"
    worker = Worker(
        functions=[job],  # type: ignore[list-item]
        redis_settings=RedisSettings.from_dsn(redis),
        max_jobs=concurrency,
        handle_signals=True,
    )
    await worker.async_run()


async def arq_enqueuer(dsn: str, redis: str) -> tuple[Enqueue, Callable[[], Awaitable[None]]]:
    from arq import create_pool
    from arq.connections import RedisSettings

    pool = await create_pool(RedisSettings.from_dsn(redis))
    counter = iter(range(10**9))

    async def enqueue(kind: str, enqueued: float) -> None:
        await pool.enqueue_job("job", kind, enqueued, next(counter))

    return enqueue, pool.aclose


async def saq_worker(recorder: Recorder, dsn: str, redis: str, concurrency: int) -> None:
    from saq import Queue, Worker

    async def job(ctx: dict[str, Any], *, kind: str, enqueued: float, slot: int) -> None:
        await recorder.run(kind, enqueued, slot)

    worker = Worker(Queue.from_url(redis), functions=[("job", job)], concurrency=concurrency)
    await worker.start()


async def saq_enqueuer(dsn: str, redis: str) -> tuple[Enqueue, Callable[[], Awaitable[None]]]:
    from saq import Queue

    queue = Queue.from_url(redis)
    await queue.connect()
    counter = iter(range(10**9))

    async def enqueue(kind: str, enqueued: float) -> None:
        await queue.enqueue("job", kind=kind, enqueued=enqueued, slot=next(counter))

    return enqueue, queue.disconnect


async def celery_enqueuer(dsn: str, redis: str) -> tuple[Enqueue, Callable[[], Awaitable[None]]]:
    from bench.queue_sync import celery_job

    counter = iter(range(10**9))

    async def enqueue(kind: str, enqueued: float) -> None:
        celery_job.delay(kind, enqueued, next(counter))  # blocking, like its clients

    return enqueue, _nothing


async def dramatiq_enqueuer(dsn: str, redis: str) -> tuple[Enqueue, Callable[[], Awaitable[None]]]:
    from bench.queue_sync import dramatiq_job

    counter = iter(range(10**9))

    async def enqueue(kind: str, enqueued: float) -> None:
        dramatiq_job.send(kind, enqueued, next(counter))

    return enqueue, _nothing


async def _nothing() -> None:
    return None


WORKERS = {"procrastinate": procrastinate_worker, "arq": arq_worker, "saq": saq_worker}
ENQUEUERS = {
    "procrastinate": procrastinate_enqueuer,
    "arq": arq_enqueuer,
    "saq": saq_enqueuer,
    "celery": celery_enqueuer,
    "dramatiq": dramatiq_enqueuer,
}


def run_worker(system: str, out: str, dsn: str, redis: str, concurrency: int) -> None:
    """Run one system's worker until killed (the worker subprocess's entry point)."""

    async def main() -> None:
        recorder = Recorder(out, dsn)
        await recorder.pool.open()
        await WORKERS[system](recorder, dsn, redis, concurrency)

    asyncio.run(main())
