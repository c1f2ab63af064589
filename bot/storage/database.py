"""Engines and migrations: one URL, an async engine for the bot, a sync one for Alembic."""

from __future__ import annotations

import asyncio
import re
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError as AlembicCommandError
from sqlalchemy import event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.errors import ConfigError, StorageError

# The migrations ship as package data of bot.storage (in the wheel as in the source tree).
_MIGRATIONS = files("bot.storage") / "migrations"
# Seconds to wait for PostgreSQL to answer a connection (libpq waits forever by default).
_CONNECT_TIMEOUT = 10
# (words in the driver's message, what happened, what to do): the first match wins.
_DIAGNOSES = (
    (("readonly database", "read-only"), "is read-only", "make it writable or choose another"),
    (
        ("disk is full", "no space left", "could not extend file"),
        "ran out of disk space",
        "free some space and run again (nothing was lost)",
    ),
    (
        ("file is not a database", "malformed", "corrupt"),
        "is not a readable database (corrupt?)",
        "restore it from a backup or move it aside to start afresh",
    ),
    (
        ("unable to open database file",),
        "cannot be opened",
        "check that its directory exists and is writable",
    ),
    (("database is locked",), "is locked by another process", "try again when it is done"),
    (
        ("could not translate host name", "name or service not known", "nodename nor servname"),
        "has a host name that does not resolve",
        "check DATABASE_URL",
    ),
    (("timeout expired", "timed out"), "did not answer in time", "check the host and network"),
    (
        ("password authentication failed", "authentication failed"),
        "refused the login",
        "check the user and password in DATABASE_URL",
    ),
    (
        ("connection refused", "could not connect", "is the server running"),
        "refused the connection",
        "is PostgreSQL running, and is DATABASE_URL right?",
    ),
    (
        ("server closed the connection", "terminating connection", "connection is closed"),
        "closed the connection",
        "check that PostgreSQL is up, then run again (nothing was lost)",
    ),
)


def _base_url(url: str) -> URL:
    # Heroku and others hand out postgres://, which SQLAlchemy no longer accepts.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        # Never echo it: a URL that does not parse may hold its password anywhere.
        scheme = re.match(r"[A-Za-z][\w+.-]*:?/*", url)
        shown = (scheme.group() if scheme else "") + "…"
        raise ConfigError(
            f"DATABASE_URL is not a database URL ({shown}): use "
            "postgresql://USER:PASSWORD@HOST:PORT/NAME or sqlite:///FILE"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    return parsed


def async_url(url: str) -> URL:
    """The URL with an asyncio driver (aiosqlite, psycopg)."""
    parsed = _base_url(url)
    driver = "aiosqlite" if parsed.get_backend_name() == "sqlite" else "psycopg"
    return parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}")


def sync_url(url: str) -> URL:
    """The URL with a blocking driver, for Alembic."""
    parsed = _base_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite")
    return parsed.set(drivername="postgresql+psycopg")


def describe_database(url: URL) -> str:
    """The database as a user names it, never with its password."""
    if url.get_backend_name() == "sqlite":
        return f"the database file {url.database or ':memory:'}"
    return f"the PostgreSQL database {url.database} at {url.host or 'localhost'}:{url.port or 5432}"


def storage_error(exc: BaseException, url: URL) -> StorageError | None:
    """One line for a database failure a user can act on; None for a bug or a conflict."""
    if isinstance(exc, AlembicCommandError) and "can't locate revision" in str(exc).lower():
        return StorageError(
            f"{describe_database(url)} was written by a newer digestbot (its schema is ahead "
            "of this version's): upgrade digestbot, or use another database"
        )
    # Only the environment's failures: a conflict (IntegrityError) or a bad query is not one.
    if not (isinstance(exc, OperationalError | InterfaceError) or type(exc) is DatabaseError):
        return None
    raw = str(getattr(exc, "orig", None) or exc)
    text = raw.lower()
    for words, happened, todo in _DIAGNOSES:
        if any(w in text for w in words):
            return StorageError(f"{describe_database(url)} {happened}: {todo}")
    first = (raw.strip().splitlines() or [type(exc).__name__])[0][:200]
    return StorageError(
        f"{describe_database(url)} failed: {first}; check DATABASE_URL and the database server"
    )


def create_engine(url: str) -> AsyncEngine:
    """An async engine whose environment failures raise StorageError (one line for the user).

    SQLite waits for locks instead of failing under concurrent writes; PostgreSQL gives up
    connecting after a while instead of hanging.
    """
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        engine = create_async_engine(target, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        engine = create_async_engine(
            target, pool_pre_ping=True, connect_args={"connect_timeout": _CONNECT_TIMEOUT}
        )

    def translate(context: ExceptionContext) -> BaseException | None:
        # A pre-ping failure is how the pool finds a dropped connection: let it reconnect.
        if context.is_pre_ping:
            return None
        return storage_error(context.sqlalchemy_exception or context.original_exception, target)

    event.listen(engine.sync_engine, "handle_error", translate, retval=True)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """Set up each SQLite connection: foreign keys on (a digest entry needs its commit).

    The migrations put a file database in WAL mode (a setting the file keeps): readers go on
    while a digest is written, and a commit is one append to the log. synchronous stays FULL
    (SQLite's default): every commit, a delivery claim's included, is on disk before the bot
    posts. NORMAL would save about a third of a small transaction here, but could lose the
    last commits in a power cut, and so post a message twice (docs/benchmarks.md, "SQLite
    journal").
    """
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _alembic_config(url: str, migrations: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    target = sync_url(url)
    if target.get_backend_name() == "postgresql" and "connect_timeout" not in target.query:
        target = target.update_query_dict({"connect_timeout": str(_CONNECT_TIMEOUT)})
    rendered = target.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Bring the database to the newest schema (blocking); failures a user can fix are one line."""
    try:
        # Alembic reads a directory on disk; for an installed wheel as_file hands back that path.
        with as_file(_MIGRATIONS) as migrations:
            command.upgrade(_alembic_config(url, migrations), revision)
    except (AlembicCommandError, DatabaseError, InterfaceError) as exc:
        error = storage_error(exc, sync_url(url))
        if error is None:
            raise
        raise error from None


async def migrate_async(url: str) -> None:
    """Bring the database to the newest schema without blocking the loop."""
    await asyncio.to_thread(migrate, url)
