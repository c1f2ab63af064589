"""Commits, analyses and digests.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "commits",
        sa.Column("repo", sa.String(200), primary_key=True),
        sa.Column("sha", sa.String(64), primary_key=True),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
    )
    op.create_table(
        "analyses",
        sa.Column("sha", sa.String(64), primary_key=True),
        sa.Column("analyzer", sa.String(40), primary_key=True),
        sa.Column("prompt_version", sa.String(40), primary_key=True),
        sa.Column("model", sa.String(120), primary_key=True),
        sa.Column("language", sa.String(8), primary_key=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("repo", sa.String(200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("repo", "day", "tz", "language"),
    )


def downgrade() -> None:
    op.drop_table("digests")
    op.drop_table("analyses")
    op.drop_table("commits")
