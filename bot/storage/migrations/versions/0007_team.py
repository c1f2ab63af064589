"""Team self-service: chat subscriptions with one revision row, and votes on analyses.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _subscriptions()
    _votes()


def _subscriptions() -> None:
    op.create_table(
        "chat_subscriptions",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("topic", sa.String(32), nullable=False, server_default=""),
        sa.Column("repo", sa.String(200), nullable=False),
        sa.Column("cadence", sa.String(10), nullable=False),
        sa.Column("time", sa.String(5), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("days", sa.String(40), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("platform", "channel", "topic", "repo"),
    )
    revisions = op.create_table(
        "chat_subscription_revision",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
    )
    op.bulk_insert(revisions, [{"id": 1, "revision": 0}])


def _votes() -> None:
    op.create_table(
        "analysis_votes",
        sa.Column("platform", sa.String(20), primary_key=True),
        sa.Column("user_id", sa.String(100), primary_key=True),
        sa.Column("repo", sa.String(200), primary_key=True),
        sa.Column("sha", sa.String(64), primary_key=True),
        sa.Column("vote", sa.Integer, nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_analysis_votes_repo_sha", "analysis_votes", ["repo", "sha"])


def downgrade() -> None:
    op.drop_index("ix_analysis_votes_repo_sha", table_name="analysis_votes")
    op.drop_table("analysis_votes")
    op.drop_table("chat_subscription_revision")
    op.drop_table("chat_subscriptions")
