"""Tables. Payloads are JSON text encoded from the frozen domain values."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every table."""


class CommitRow(Base):
    """A commit, immutable once stored."""

    __tablename__ = "commits"
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    sha: Mapped[str] = mapped_column(String(64), primary_key=True)
    committed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[str] = mapped_column(Text)


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
    """A built digest of one repository's day."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("repo", "day", "tz", "language"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(200))
    day: Mapped[date] = mapped_column(Date)
    tz: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


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
