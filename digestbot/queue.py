"""The task queue for many machines: procrastinate on PostgreSQL.

The clock still decides *when*; with a queue configured each firing enqueues a **build** job
per repository and a **post** job for the subscription, and `digestbot worker` processes run
them. Each job carries a procrastinate `lock` (one at a time per key) and `queueing_lock` (a
duplicate enqueue while one waits is a no-op). A worker that dies stops sending heartbeats; a
periodic sweep on the other workers hands its jobs back to the queue, and the delivery claims
make the retried post complete the same messages instead of sending new ones.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import psycopg
from procrastinate import App, PsycopgConnector, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.schema import SchemaManager

from bot.config import QueueConfig, Settings
from bot.daily import describe, status_of
from bot.days import DayWindow
from bot.digest import CommitFilter
from bot.errors import ConfigError, PostIncomplete
from bot.storage.database import sync_url
from bot.subscriptions import Subscription
from digestbot.clock_role import STOP_SECONDS
from digestbot.service import Service

BUILD, POST, SWEEP = "digestbot.build", "digestbot.post", "digestbot.retry_stalled"
# Builds first: a post then finds its digests built (or waits on their lease, not the model).
# The stalled-job sweep before all: behind a morning's backlog it would wait for the backlog,
# and so would a killed worker's jobs (seen in the fleet bench).
SWEEP_PRIORITY, BUILD_PRIORITY, POST_PRIORITY = 100, 10, 0
# A post held by another (perhaps dead) process is retried until its 3-minute lease lapses.
POST_RETRY = RetryStrategy(max_attempts=12, wait=5, linear_wait=5)
BUILD_RETRY = RetryStrategy(max_attempts=5, wait=5, exponential_wait=2)
QUEUE_SCHEMA_LOCK = 0x6469676573740002
_log = logging.getLogger("digestbot.queue")


def conninfo(database_url: str) -> str:
    """The libpq URL procrastinate's psycopg pool wants; the queue needs PostgreSQL."""
    url = sync_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigError(
            "DIGESTBOT_QUEUE=postgres needs a PostgreSQL DATABASE_URL (postgresql://…)"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _version(name: str) -> tuple[int, ...]:
    # "3.10.0" (the package) and "03.04.00_01_pre_….sql" (a migration introduced by 3.4.0).
    return tuple(int(part) for part in re.findall(r"\d+", name.split("_", 1)[0])[:3])


async def migrate_queue(database_url: str) -> None:
    """Create procrastinate's tables once, or apply its newer migrations; one process at a time."""
    installed = metadata.version("procrastinate")
    async with await psycopg.AsyncConnection.connect(conninfo(database_url)) as conn:
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (QUEUE_SCHEMA_LOCK,))
        await conn.execute("CREATE TABLE IF NOT EXISTS digestbot_queue_schema (version text)")
        row = await (await conn.execute("SELECT version FROM digestbot_queue_schema")).fetchone()
        if row is None:
            await conn.execute(SchemaManager.get_schema())
            await conn.execute("INSERT INTO digestbot_queue_schema VALUES (%s)", (installed,))
            _log.info("queue: created procrastinate %s's tables", installed)
        elif row[0] != installed:
            await _upgrade(conn, row[0], installed)
        await conn.commit()


def _pending(applied: str, installed: str) -> list[tuple[str, str]]:
    # procrastinate ships each schema change as SQL named after the release that brings it.
    since, until = _version(applied), _version(installed)
    folder = Path(SchemaManager.get_migrations_path())
    return [
        (path.name, path.read_text(encoding="utf-8"))
        for path in sorted(folder.glob("*.sql"))
        if since < _version(path.name) <= until
    ]


async def _upgrade(conn: psycopg.AsyncConnection[Any], applied: str, installed: str) -> None:
    for name, sql in _pending(applied, installed):
        await conn.execute(sql.encode())
        _log.info("queue: applied %s", name)
    await conn.execute("UPDATE digestbot_queue_schema SET version = %s", (installed,))


class Jobs(Protocol):
    """What the queue's jobs do; the worker implements it over a Service."""

    async def build(self, subscription: str, repo: str, fired_on: date) -> None:
        """Build (through the shared-build lease and the cache) one repository's day."""
        ...

    async def post(self, subscription: str, fired_on: date) -> None:
        """Post a subscription's day; raises PostIncomplete while a retry can complete it."""
        ...


def queue_app(database_url: str, config: QueueConfig, jobs: Jobs | None = None) -> App:
    """The procrastinate app with digestbot's tasks (bound to `jobs` in a worker)."""
    # Small: the fleet bench's 4 workers and a clock peaked at 89 of PostgreSQL's default 100.
    app = App(connector=PsycopgConnector(conninfo=conninfo(database_url), max_size=4))

    @app.task(name=BUILD, retry=BUILD_RETRY, priority=BUILD_PRIORITY)
    async def build(subscription: str, repo: str, fired_on: str) -> None:
        assert jobs is not None, "only workers run jobs"
        await jobs.build(subscription, repo, date.fromisoformat(fired_on))

    @app.task(name=POST, retry=POST_RETRY, priority=POST_PRIORITY)
    async def post(subscription: str, fired_on: str) -> None:
        assert jobs is not None, "only workers run jobs"
        await jobs.post(subscription, date.fromisoformat(fired_on))

    sweep_every = max(1, min(30, int(config.stalled_seconds // 2)))

    @app.periodic(cron=f"* * * * * */{sweep_every}", periodic_id="stalled", priority=SWEEP_PRIORITY)
    @app.task(name=SWEEP, queueing_lock=SWEEP, priority=SWEEP_PRIORITY)
    async def retry_stalled(timestamp: int) -> None:
        manager = app.job_manager
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=config.stalled_seconds):
            _log.info(
                "queue: job %s %s of a silent worker goes back to the queue", job.id, job.task_name
            )
            await manager.retry_job(job)

    return app


@dataclass
class Enqueuer:
    """The clock's side: a firing becomes build jobs and one post job, each keyed."""

    app: App

    async def fire(self, subscription: Subscription, fired_on: date) -> None:
        """Enqueue the subscription's day; a duplicate of a waiting job is a no-op."""
        day = fired_on - timedelta(days=1)
        on = fired_on.isoformat()
        for repo in subscription.repos:
            key = f"build:{repo}:{day}:{subscription.tz}:{subscription.language}"
            await self._defer(BUILD, key, subscription=subscription.name, repo=repo, fired_on=on)
        await self._defer(
            POST, f"post:{subscription.name}:{day}", subscription=subscription.name, fired_on=on
        )

    async def _defer(self, task: str, key: str, **kwargs: str) -> None:
        deferrer = self.app.configure_task(task, lock=key, queueing_lock=key)
        try:
            job_id = await deferrer.defer_async(**kwargs)
        except AlreadyEnqueued:
            _log.info("queue: %s already waits in the queue; not enqueued again", key)
            return
        _log.info("queue: enqueued %s as job %s", key, job_id)


@dataclass
class ServiceJobs:
    """Jobs run by a worker, over the same Service the in-process clock uses."""

    service: Service

    def _subscription(self, name: str) -> Subscription:
        found = next((s for s in self.service.subscriptions if s.name == name), None)
        if found is None:
            raise ConfigError(f"no subscription named {name!r} in this worker's config")
        return found

    async def build(self, subscription: str, repo: str, fired_on: date) -> None:
        chosen = self._subscription(subscription)
        core = self.service.core
        window = DayWindow(fired_on - timedelta(days=1), chosen.tz)
        digest = await core.engine.build(
            core.source(repo), window, chosen.language, commit_filter=CommitFilter(chosen.filters)
        )
        _log.info("queue: built %s %s: %d commits", digest.repo, digest.day, len(digest.entries))

    async def post(self, subscription: str, fired_on: date) -> None:
        chosen = self._subscription(subscription)
        results = await self.service.post(chosen, fired_on)
        status = status_of(results)
        if status.complete:
            return
        line = describe(chosen, results)
        if not status.retry_helps:  # only a configuration change can help: do not retry
            _log.error("queue: post %s for %s gave up: %s", subscription, fired_on, line)
            return
        raise PostIncomplete(line)  # the queue retries it with backoff


@contextlib.asynccontextmanager
async def enqueue_firings(service: Service) -> AsyncIterator[None]:
    """While open, the clock's firings (and catch-up) enqueue instead of posting here."""
    settings = service.core.settings
    await migrate_queue(settings.database_url)
    app = queue_app(settings.database_url, settings.queue)
    async with app.open_async():
        service.fire = Enqueuer(app).fire
        yield


async def work(service: Service) -> int:
    """The worker role: run jobs until SIGTERM, finishing running ones within Heroku's 30 s."""
    settings: Settings = service.core.settings
    config = settings.queue
    try:
        if not config.enabled:
            raise ConfigError("digestbot worker needs a queue: set DIGESTBOT_QUEUE=postgres")
        await migrate_queue(settings.database_url)
        app = queue_app(settings.database_url, config, ServiceJobs(service))
        async with app.open_async():
            await app.run_worker_async(
                concurrency=config.concurrency,
                update_heartbeat_interval=config.heartbeat_seconds,
                stalled_worker_timeout=config.stalled_seconds,
                shutdown_graceful_timeout=STOP_SECONDS - 10,
                delete_jobs="successful",
            )
    finally:
        await service.close()
    return 0
