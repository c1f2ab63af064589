"""Alembic environment: runs migrations on the URL set by bot.storage.database."""

from contextlib import suppress

from alembic import context
from sqlalchemy import Connection, create_engine, pool
from sqlalchemy.exc import OperationalError

from bot.storage.schema import Base

config = context.config
target_metadata = Base.metadata

engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)


def use_wal(connection: Connection) -> None:
    """Put a SQLite file in WAL mode (a setting the file keeps; see bot.storage.database)."""
    database = connection.engine.url.database or ":memory:"
    if connection.dialect.name != "sqlite" or database == ":memory:" or "mode=memory" in database:
        return
    with suppress(OperationalError):  # a read-only file stays as it is
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    connection.commit()


with engine.connect() as connection:
    use_wal(connection)
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
