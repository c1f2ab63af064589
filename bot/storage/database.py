"""Engines and migrations: one URL, an async engine for the bot, a sync one for Alembic."""

from __future__ import annotations

import asyncio
import re
from importlib.resources import as_file, files
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.errors import ConfigError

# The migrations ship as package data of bot.storage (in the wheel as in the source tree).
_MIGRATIONS = files("bot.storage") / "migrations"


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


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite waits for locks instead of failing under concurrent writes."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        return create_async_engine(target, connect_args={"timeout": 30})
    return create_async_engine(target, pool_pre_ping=True)


def _alembic_config(url: str, migrations: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    rendered = sync_url(url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database to the newest schema (blocking)."""
    # Alembic reads a directory on disk; for an installed wheel as_file hands back that path.
    with as_file(_MIGRATIONS) as migrations:
        command.upgrade(_alembic_config(url, migrations), "head")


async def migrate_async(url: str) -> None:
    """Bring the database to the newest schema without blocking the loop."""
    await asyncio.to_thread(migrate, url)
