"""The SQL store: commits, analyses and digests, on any SQLAlchemy async engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.models import AnalyzerIdentity, Commit, CommitAnalysis, RepoDigest
from bot.storage.codec import ANALYSIS, COMMIT, DIGEST
from bot.storage.schema import AnalysisRow, Base, CommitRow, DigestRow


class SqlStore:
    """Implements the commit, analysis and digest stores."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @property
    def engine(self) -> AsyncEngine:
        """The engine, shared with the chat store."""
        return self._engine

    async def close(self) -> None:
        """Release the engine's connections."""
        await self._engine.dispose()

    async def _insert_once(self, row: Base) -> None:
        # Immutable rows: a concurrent writer may have stored the same key first, which is fine.
        async with self._sessions() as session:
            try:
                await session.merge(row)
                await session.commit()
            except IntegrityError:
                await session.rollback()

    async def get_commit(self, repo: str, sha: str) -> Commit | None:
        """A stored commit, or None."""
        async with self._sessions() as session:
            row = await session.get(CommitRow, (repo, sha))
        return COMMIT.validate_json(row.payload) if row else None

    async def put_commit(self, commit: Commit) -> None:
        """Keep a commit by repository and SHA."""
        await self._insert_once(
            CommitRow(
                repo=commit.repo,
                sha=commit.sha,
                committed_at=commit.committed_at,
                payload=COMMIT.dump_json(commit).decode(),
            )
        )

    async def get_analysis(
        self, sha: str, identity: AnalyzerIdentity, language: str
    ) -> CommitAnalysis | None:
        """A cached analysis, or None."""
        key = (sha, identity.name, identity.prompt_version, identity.model, language)
        async with self._sessions() as session:
            row = await session.get(AnalysisRow, key)
        return ANALYSIS.validate_json(row.payload) if row else None

    async def put_analysis(self, analysis: CommitAnalysis) -> None:
        """Cache an analysis under its full key."""
        await self._insert_once(_analysis_row(analysis))

    async def put_analyses(self, analyses: Sequence[CommitAnalysis]) -> None:
        """Cache several analyses in one transaction (those that finished during a write)."""
        rows = [_analysis_row(a) for a in analyses]
        async with self._sessions() as session:
            try:
                for row in rows:
                    await session.merge(row)
                await session.commit()
                return
            except IntegrityError:
                await session.rollback()
        for row in rows:  # another process stored one of them first: one at a time
            await self._insert_once(row)

    async def get_digest(self, repo: str, day: date, tz: str, language: str) -> RepoDigest | None:
        """A stored digest, or None."""
        query = select(DigestRow).where(
            DigestRow.repo == repo,
            DigestRow.day == day,
            DigestRow.tz == tz,
            DigestRow.language == language,
        )
        async with self._sessions() as session:
            row = (await session.execute(query)).scalar_one_or_none()
        return DIGEST.validate_json(row.payload) if row else None

    async def list_digests(self, repo: str, limit: int = 400) -> list[RepoDigest]:
        """A repository's stored digests, newest day first."""
        query = (
            select(DigestRow.payload)
            .where(DigestRow.repo == repo)
            .order_by(DigestRow.day.desc(), DigestRow.language)
            .limit(limit)
        )
        async with self._sessions() as session:
            payloads = (await session.execute(query)).scalars().all()
        return [DIGEST.validate_json(payload) for payload in payloads]

    async def put_digest(self, digest: RepoDigest) -> None:
        """Keep a digest, replacing the same repository/day/zone/language (an atomic upsert)."""
        values = {
            "repo": digest.repo,
            "day": digest.day,
            "tz": digest.tz,
            "language": digest.language,
            "payload": DIGEST.dump_json(digest).decode(),
            "created_at": datetime.now(UTC),
        }
        # Two processes may build the same day at once (a double firing): last writer wins.
        insert = pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(DigestRow).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["repo", "day", "tz", "language"],
            set_={"payload": statement.excluded.payload},
        )
        async with self._sessions() as session:
            await session.execute(statement)
            await session.commit()


def _analysis_row(analysis: CommitAnalysis) -> AnalysisRow:
    identity = analysis.analyzer
    return AnalysisRow(
        sha=analysis.sha,
        analyzer=identity.name,
        prompt_version=identity.prompt_version,
        model=identity.model,
        language=analysis.language,
        payload=ANALYSIS.dump_json(analysis).decode(),
        created_at=datetime.now(UTC),
    )
