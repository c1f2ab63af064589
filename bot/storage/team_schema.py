"""Tables of the team features: chat subscriptions, their revision, and votes on analyses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.schema import Base


class ChatSubscriptionRow(Base):
    """A subscription made in chat: one GitHub repository → one chat (and topic)."""

    __tablename__ = "chat_subscriptions"
    __table_args__ = (UniqueConstraint("platform", "channel", "topic", "repo"),)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(32), default="")
    repo: Mapped[str] = mapped_column(String(200))
    cadence: Mapped[str] = mapped_column(String(10))
    time: Mapped[str] = mapped_column(String(5))
    tz: Mapped[str] = mapped_column(String(64))
    days: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SubscriptionRevisionRow(Base):
    """One row whose number every change bumps: the clock polls it, a primary-key read."""

    __tablename__ = "chat_subscription_revision"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class VoteRow(Base):
    """One person's 👍 (+1) or 👎 (-1) on one commit's analysis; a second press changes nothing."""

    __tablename__ = "analysis_votes"
    __table_args__ = (Index("ix_analysis_votes_repo_sha", "repo", "sha"),)
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    sha: Mapped[str] = mapped_column(String(64), primary_key=True)
    vote: Mapped[int] = mapped_column(Integer)
    voted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
