"""Tables. Payloads are JSON text encoded from the frozen domain values.

Each patch is stored once: in its commit's row (`files`, compressed). A digest row holds only
its summary; its entries reference commits and analyses (`digest_entries`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every table."""


class CommitRow(Base):
    """A commit, immutable once stored: its info as JSON, its files and patches compressed."""

    __tablename__ = "commits"
    __table_args__ = (Index("ix_commits_repo_pr", "repo", "pr_number"),)
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    sha: Mapped[str] = mapped_column(String(64), primary_key=True)
    committed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    pr_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    info: Mapped[str] = mapped_column(Text)  # CommitInfo as JSON (the exact time zone kept)
    files: Mapped[bytes] = mapped_column(LargeBinary)  # zlib of the files' JSON, patches within


class AnalysisRow(Base):
    """A cached analysis under (SHA, analyzer, prompt version, model, language)."""

    __tablename__ = "analyses"
    sha: Mapped[str] = mapped_column(String(64), primary_key=True)
    analyzer: Mapped[str] = mapped_column(String(40), primary_key=True)
    prompt_version: Mapped[str] = mapped_column(String(40), primary_key=True)
    model: Mapped[str] = mapped_column(String(120), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DigestRow(Base):
    """A built digest of one repository's day: its summary; the entries are rows of their own."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("repo", "day", "tz", "language"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(200))
    day: Mapped[date] = mapped_column(Date)
    tz: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    high: Mapped[int] = mapped_column(Integer)
    medium: Mapped[int] = mapped_column(Integer)
    low: Mapped[int] = mapped_column(Integer)
    overview: Mapped[str | None] = mapped_column(Text, nullable=True)
    usage: Mapped[str] = mapped_column(Text)  # Usage as JSON
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DigestEntryRow(Base):
    """One entry of a digest: its commit, and its analysis by cache key.

    `analysis` holds the analysis itself only when it is not in the cache: a fallback (the
    rules standing in for a failed model) is never cached under a key, so the next run asks
    the model again.
    """

    __tablename__ = "digest_entries"
    __table_args__ = (ForeignKeyConstraint(["repo", "sha"], ["commits.repo", "commits.sha"]),)
    digest_id: Mapped[int] = mapped_column(
        ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo: Mapped[str] = mapped_column(String(200))
    sha: Mapped[str] = mapped_column(String(64))
    analyzer: Mapped[str] = mapped_column(String(40))
    prompt_version: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(8))
    analysis: Mapped[str | None] = mapped_column(Text, nullable=True)


class MessageLinkRow(Base):
    """A bot message, linked to its digest and (for a thread reply) its commit."""

    __tablename__ = "message_links"
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    channel: Mapped[str] = mapped_column(String(100), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    root_id: Mapped[str] = mapped_column(String(100))
    repo: Mapped[str] = mapped_column(String(200))
    day: Mapped[date] = mapped_column(Date)
    tz: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    shas: Mapped[str] = mapped_column(Text, default="")


class ThreadTurnRow(Base):
    """One turn of a thread conversation (a question or an answer)."""

    __tablename__ = "thread_turns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(20), index=True)
    channel: Mapped[str] = mapped_column(String(100))
    root_id: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeliveryRow(Base):
    """A claimed digest post; `version` makes take-overs atomic on any database."""

    __tablename__ = "deliveries"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    owner: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(10))
    heartbeat: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=0)


class DeliveredPartRow(Base):
    """One platform message sent under a claimed post."""

    __tablename__ = "delivered_parts"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(100))
    # When the send was started: a look-up of an unconfirmed message starts there, not earlier.
    intended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class InboundEventRow(Base):
    """An event or update already handled (platforms re-deliver); old rows are deleted."""

    __tablename__ = "inbound_events"
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
