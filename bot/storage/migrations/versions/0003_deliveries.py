"""Claimed digest posts and the messages sent under each.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("owner", sa.String(120), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("heartbeat", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "delivered_parts",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("idx", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.String(100), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("delivered_parts")
    op.drop_table("deliveries")
