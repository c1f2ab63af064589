"""Migrations: several processes migrating one fresh database at the same instant all succeed."""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.synchronize import Barrier
from pathlib import Path
from queue import Queue

from sqlalchemy import create_engine, inspect, text

from bot.storage.database import sync_url
from tests.conftest import _reset_postgres

CONCURRENT = 4


def fresh_url(tmp_path: Path) -> str:
    """A database with nothing in it: a new SQLite file, or the suite's PostgreSQL emptied."""
    chosen = os.environ.get("DIGESTBOT_TEST_DATABASE", "sqlite")
    if chosen == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    _reset_postgres(chosen)
    return chosen


def migrate_when_told(url: str, start: Barrier, outcomes: Queue[str]) -> None:
    """One process: import everything first, then migrate when every process is ready."""
    from bot.storage.database import migrate

    start.wait()
    try:
        migrate(url)
        outcomes.put("ok")
    except Exception as exc:  # reported to the test, which shows it
        outcomes.put(f"{type(exc).__name__}: {exc}")


def test_processes_migrating_a_fresh_database_at_once_all_succeed(tmp_path: Path) -> None:
    # Without the migration lock this failed in most rounds on both databases ("table commits
    # already exists", a duplicate pg_type row): every process saw no alembic_version.
    url = fresh_url(tmp_path)
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(CONCURRENT)
    outcomes: Queue[str] = spawn.Queue()  # type: ignore[assignment]
    processes = [
        spawn.Process(target=migrate_when_told, args=(url, start, outcomes))
        for _ in range(CONCURRENT)
    ]
    for process in processes:
        process.start()  # each imports, then waits for the others: all migrate at once
    results = [outcomes.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert results == ["ok"] * CONCURRENT
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert len(versions) == 1  # one head, recorded once
    assert {"commits", "analyses", "digests", "deliveries", "leases"} <= tables
