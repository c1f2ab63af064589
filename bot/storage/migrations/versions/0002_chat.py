"""Message links and thread turns.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_links",
        sa.Column("platform", sa.String(20), primary_key=True),
        sa.Column("channel", sa.String(100), primary_key=True),
        sa.Column("message_id", sa.String(100), primary_key=True),
        sa.Column("root_id", sa.String(100), nullable=False),
        sa.Column("repo", sa.String(200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("shas", sa.Text(), nullable=False),
    )
    op.create_table(
        "thread_turns",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(20), nullable=False, index=True),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("root_id", sa.String(100), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("thread_turns")
    op.drop_table("message_links")
