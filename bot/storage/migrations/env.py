"""Alembic environment: runs migrations on the URL set by bot.storage.database."""

from alembic import context
from sqlalchemy import create_engine, pool

from bot.storage.schema import Base

config = context.config
target_metadata = Base.metadata

engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
