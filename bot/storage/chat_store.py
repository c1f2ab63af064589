"""Chat records: which digest and commits each bot message belongs to, and thread turns."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.chat import MessageLink, MessageRef
from bot.models import Commit
from bot.storage.schema import CommitRow, MessageLinkRow, ThreadTurnRow
from bot.storage.sql_store import decode_commit

# Explain shows every commit found: a SHA prefix or a PR number names a handful at most.
_FOUND_LIMIT = 20


class SqlChatStore:
    """Message links, thread turns and commit look-ups for explain."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def link(self, ref: MessageRef, root: MessageRef, link: MessageLink) -> None:
        """Record what a posted message is about (idempotent)."""
        async with self._sessions() as session:
            await session.merge(
                MessageLinkRow(
                    platform=ref.target.platform,
                    channel=ref.target.channel,
                    message_id=ref.message_id,
                    root_id=root.message_id,
                    repo=link.repo,
                    day=link.day,
                    tz=link.tz,
                    language=link.language,
                    shas=",".join(link.shas),
                )
            )
            await session.commit()

    async def get_link(self, ref: MessageRef) -> MessageLink | None:
        """The link of a bot message, or None when the message is not ours."""
        key = (ref.target.platform, ref.target.channel, ref.message_id)
        async with self._sessions() as session:
            row = await session.get(MessageLinkRow, key)
        if row is None:
            return None
        return MessageLink(
            row.root_id,
            row.repo,
            row.day,
            row.tz,
            row.language,
            tuple(s for s in row.shas.split(",") if s),
        )

    async def add_turn(self, root: MessageRef, role: str, text: str) -> None:
        """Append a question or an answer to a thread's history."""
        async with self._sessions() as session:
            session.add(
                ThreadTurnRow(
                    platform=root.target.platform,
                    channel=root.target.channel,
                    root_id=root.message_id,
                    role=role,
                    text=text,
                    created_at=datetime.now(UTC),
                )
            )
            await session.commit()

    async def turns(self, root: MessageRef, limit: int = 12) -> list[tuple[str, str]]:
        """The thread's latest turns, oldest first."""
        query = (
            select(ThreadTurnRow.role, ThreadTurnRow.text)
            .where(
                ThreadTurnRow.platform == root.target.platform,
                ThreadTurnRow.channel == root.target.channel,
                ThreadTurnRow.root_id == root.message_id,
            )
            .order_by(ThreadTurnRow.id.desc())
            .limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [(r.role, r.text) for r in reversed(rows)]

    async def find_commits(
        self, repos: list[str], pr_number: int | None = None, sha: str | None = None
    ) -> list[Commit]:
        """Stored commits of some repositories that merged a PR or match a SHA prefix."""
        query = select(CommitRow).where(CommitRow.repo.in_(repos))
        if sha:
            query = query.where(CommitRow.sha.startswith(sha, autoescape=True))
        if pr_number is not None:
            query = query.where(CommitRow.pr_number == pr_number)
        query = query.order_by(CommitRow.committed_at.desc()).limit(_FOUND_LIMIT)
        async with self._sessions() as session:
            rows = (await session.execute(query)).scalars().all()
        return [await decode_commit(row) for row in rows]
