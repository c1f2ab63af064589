"""Alembic environment: migrations on the URL set by bot.storage.database, one process at a time.

Every process migrates on start, so two containers starting together on a fresh database used
to race on `alembic_version` (both saw no version, both created the tables, one crashed). The
whole upgrade is now one transaction that first takes a database-wide lock:
- PostgreSQL: `pg_advisory_xact_lock`, released by the commit (or by the server when the
  process dies); DDL is transactional there, so a waiter then sees the finished schema.
- SQLite: `BEGIN EXCLUSIVE`, which makes the others wait on the busy timeout; SQLite's DDL is
  transactional too, so an interrupted upgrade leaves nothing half done.
"""

from contextlib import suppress
from typing import Any

from alembic import context
from sqlalchemy import Connection, create_engine, event, pool, text
from sqlalchemy.exc import OperationalError

from bot.storage.schema import Base

# Any fixed 64-bit number: the key of "digestbot is migrating this database".
MIGRATION_LOCK_KEY = 0x6469676573740001
# How long a process waits for another one's migration before giving up with an error.
LOCK_WAIT_SECONDS = 300

config = context.config
target_metadata = Base.metadata
url = config.get_main_option("sqlalchemy.url") or ""


def _sqlite_exclusive(engine: Any) -> None:
    # pysqlite opens transactions itself, and not before DDL: take over and begin EXCLUSIVE
    # (SQLAlchemy's documented recipe for transactional DDL on pysqlite).
    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_exclusive(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN EXCLUSIVE")


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT_SECONDS}s'"))
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def use_wal(connection: Connection) -> None:
    """Put a SQLite file in WAL mode (a setting the file keeps; see bot.storage.database)."""
    database = connection.engine.url.database or ":memory:"
    if connection.dialect.name != "sqlite" or database == ":memory:" or "mode=memory" in database:
        return
    with suppress(OperationalError):  # a read-only file stays as it is
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    connection.commit()


sqlite = url.startswith("sqlite")
engine = create_engine(
    url,
    poolclass=pool.NullPool,
    connect_args={"timeout": LOCK_WAIT_SECONDS} if sqlite else {},
)
with engine.connect() as connection:
    use_wal(connection)  # outside the migration's transaction: SQLite refuses it inside one
if sqlite:
    _sqlite_exclusive(engine)
with engine.begin() as connection:
    _lock(connection)
    # Configured inside our transaction, Alembic runs every migration in it (no nested one).
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    context.run_migrations()
engine.dispose()
