"""Shared fixtures: the database under test (SQLite or PostgreSQL), stores, emulators."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

# python-telegram-bot 22: opt in to timedelta durations now, as production does (digestbot.cli).
os.environ.setdefault("PTB_TIMEDELTA", "true")
from sqlalchemy import create_engine, text

from bot.storage.database import create_engine as create_async
from bot.storage.database import migrate, sync_url
from bot.storage.sql_store import SqlStore
from tests.emulators.github_api import GitHubEmulator
from tests.emulators.slack_api import SlackEmulator
from tests.gitrepo import GitRepo
from tests.hostile import restored_logging


def _reset_postgres(url: str) -> None:
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh, migrated database: SQLite by default, PostgreSQL when the suite says so."""
    chosen = os.environ.get("DIGESTBOT_TEST_DATABASE", "sqlite")
    if chosen == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
    else:
        url = chosen
        _reset_postgres(url)
    migrate(url)
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    sql_store = SqlStore(create_async(database_url))
    yield sql_store
    await sql_store.close()


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "repo")


@pytest.fixture
def github() -> Iterator[GitHubEmulator]:
    emulator = GitHubEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def logging_restored() -> Iterator[None]:
    """Undo what a test's `main(...)` did to logging: its redacting filter sits on pytest's own
    session-wide handlers, and a later test's caplog would read that test's redactions."""
    yield from restored_logging()
