"""Storage: SQLAlchemy 2 on SQLite by default, PostgreSQL via DATABASE_URL; Alembic migrations."""
