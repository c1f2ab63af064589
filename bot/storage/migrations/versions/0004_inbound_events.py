"""Inbound events seen (de-duplication across processes); when each delivered part was intended.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_events",
        sa.Column("platform", sa.String(20), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_inbound_events_seen_at", "inbound_events", ["seen_at"])
    op.add_column(
        "delivered_parts", sa.Column("intended_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("delivered_parts") as batch:
        batch.drop_column("intended_at")
    op.drop_index("ix_inbound_events_seen_at", table_name="inbound_events")
    op.drop_table("inbound_events")
