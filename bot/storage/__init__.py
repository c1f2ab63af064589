"""Storage: SQLAlchemy 2 on SQLite by default, PostgreSQL through DATABASE_URL; Alembic migrations."""
