"""The SQL store: commits, analyses and digests, on any SQLAlchemy async engine.

A commit's patches are stored once, in its row; a digest is a summary row plus entry rows that
reference commits and analyses, reassembled by a join that never reads a patch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.models import (
    AnalyzerIdentity,
    Commit,
    CommitAnalysis,
    DigestSummary,
    RepoDigest,
)
from bot.storage.codec import ANALYSIS, INFO, USAGE, decode_files, encode_files, off_loop
from bot.storage.digest_rows import decode_entries, entries_query, entry_values
from bot.storage.schema import AnalysisRow, CommitRow, DigestEntryRow, DigestRow

# SHAs per IN (…) list: well under SQLite's and PostgreSQL's parameter limits.
_IN_LIST = 500


class _NoQueue:
    """PostgreSQL takes concurrent writers: nothing to wait for."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *_exc: object) -> None:
        return None


class SqlStore:
    """Implements the commit, analysis and digest stores, and the report pages' archive."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer: writers queue here instead of polling the file's lock, and
        # only for the transaction itself (encoding happens before). PostgreSQL needs no queue.
        one_writer = engine.dialect.name == "sqlite"
        self._one_writer: AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if one_writer else _NoQueue()
        )

    @property
    def engine(self) -> AsyncEngine:
        """The engine, shared with the chat store."""
        return self._engine

    async def close(self) -> None:
        """Release the engine's connections."""
        await self._engine.dispose()

    def _insert(self, table: Any) -> postgresql.Insert | sqlite.Insert:
        # Both dialects have INSERT … ON CONFLICT; the generic insert has not.
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    async def get_commit(self, repo: str, sha: str) -> Commit | None:
        """A stored commit with its files and patches, or None."""
        async with self._sessions() as session:
            row = await session.get(CommitRow, (repo, sha))
        return await decode_commit(row) if row else None

    async def put_commit(self, commit: Commit) -> None:
        """Keep a commit by repository and SHA."""
        await self.put_commits([commit])

    async def put_commits(self, commits: Sequence[Commit]) -> None:
        """Keep commits (immutable: those already stored are not encoded again), one transaction."""
        if not commits:
            return
        async with self._sessions() as session:
            stored = await _stored_shas(session, commits)
        missing = [c for c in commits if (c.repo, c.sha) not in stored]
        if not missing:
            return
        size = sum(len(f.patch or "") for c in missing for f in c.files)
        rows = await off_loop(size, lambda: [_commit_values(c) for c in missing])
        # A concurrent writer may have stored the same commit first, which is fine.
        statement = self._insert(CommitRow.__table__).on_conflict_do_nothing()
        async with self._one_writer, self._sessions() as session, session.begin():
            await session.execute(statement, rows)

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
        await self.put_analyses([analysis])

    async def get_analyses(
        self, shas: Sequence[str], identity: AnalyzerIdentity, language: str
    ) -> dict[str, CommitAnalysis]:
        """The cached analyses of some commits under one analyzer and language, by SHA."""
        found: dict[str, str] = {}
        async with self._sessions() as session:
            for start in range(0, len(shas), _IN_LIST):
                query = select(AnalysisRow.sha, AnalysisRow.payload).where(
                    AnalysisRow.sha.in_(shas[start : start + _IN_LIST]),
                    AnalysisRow.analyzer == identity.name,
                    AnalysisRow.prompt_version == identity.prompt_version,
                    AnalysisRow.model == identity.model,
                    AnalysisRow.language == language,
                )
                found.update((sha, payload) for sha, payload in await session.execute(query))
        return {sha: ANALYSIS.validate_json(payload) for sha, payload in found.items()}

    async def put_analyses(self, analyses: Sequence[CommitAnalysis]) -> None:
        """Cache several analyses in one transaction; a key already cached keeps its analysis."""
        async with self._one_writer, self._sessions() as session, session.begin():
            await self._cache(session, analyses)

    async def _cache(self, session: AsyncSession, analyses: Sequence[CommitAnalysis]) -> None:
        if analyses:
            statement = self._insert(AnalysisRow.__table__).on_conflict_do_nothing()
            await session.execute(statement, [_analysis_values(a) for a in analyses])

    async def get_digest(self, repo: str, day: date, tz: str, language: str) -> RepoDigest | None:
        """A stored digest (its entries without patches), or None."""
        query = select(DigestRow).where(
            DigestRow.repo == repo,
            DigestRow.day == day,
            DigestRow.tz == tz,
            DigestRow.language == language,
        )
        async with self._sessions() as session:
            row = (await session.execute(query)).scalar_one_or_none()
            if row is None:
                return None
            found = (await session.execute(entries_query(row.id))).all()
        size = sum(len(r.info) + len(r.analysis or r.payload or "") for r in found)
        entries = await off_loop(size, lambda: decode_entries(row.id, found))
        return RepoDigest(
            row.repo,
            row.day,
            row.tz,
            row.language,
            entries,
            row.overview,
            USAGE.validate_json(row.usage),
        )

    async def list_summaries(self, repo: str, limit: int = 400) -> list[DigestSummary]:
        """A repository's stored digests as summary rows, newest day first (no entry is read)."""
        return await self._summaries(DigestRow.repo == repo, limit)

    async def summaries_with(
        self, repo: str, shas: Sequence[str], limit: int = 100
    ) -> list[DigestSummary]:
        """The summary rows of a repository's digests that list any of `shas`, newest first."""
        if not shas:
            return []
        listed = select(DigestEntryRow.digest_id).where(
            DigestEntryRow.repo == repo, DigestEntryRow.sha.in_(list(shas))
        )
        return await self._summaries(DigestRow.id.in_(listed), limit)

    async def _summaries(self, where: Any, limit: int) -> list[DigestSummary]:
        query = (
            select(
                DigestRow.repo,
                DigestRow.day,
                DigestRow.tz,
                DigestRow.language,
                DigestRow.high,
                DigestRow.medium,
                DigestRow.low,
                DigestRow.overview,
            )
            .where(where)
            .order_by(DigestRow.day.desc(), DigestRow.language)
            .limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [DigestSummary(*row) for row in rows]

    async def put_digest(self, digest: RepoDigest) -> None:
        """Keep a digest, replacing the same repository/day/zone/language, in one transaction.

        Its commits must be stored first (`put_commits`): an entry references its commit.
        """
        summary = digest.summary()
        now = datetime.now(UTC)
        values = {
            "repo": digest.repo,
            "day": digest.day,
            "tz": digest.tz,
            "language": digest.language,
            "high": summary.high,
            "medium": summary.medium,
            "low": summary.low,
            "overview": digest.overview,
            "usage": USAGE.dump_json(digest.usage).decode(),
            "created_at": now,
            "updated_at": now,
        }
        # Two processes may build the same day at once (a double firing): last writer wins.
        kept = {k: v for k, v in values.items() if k != "created_at"}
        upsert = (
            self._insert(DigestRow.__table__)
            .values(**values)
            .on_conflict_do_update(index_elements=["repo", "day", "tz", "language"], set_=kept)
            .returning(DigestRow.id)
        )
        cacheable = [e.analysis for e in digest.entries if not e.analysis.fallback_reason]
        async with self._one_writer, self._sessions() as session, session.begin():
            digest_id = (await session.execute(upsert)).scalar_one()
            await session.execute(
                delete(DigestEntryRow).where(DigestEntryRow.digest_id == digest_id)
            )
            await self._cache(session, cacheable)
            if digest.entries:
                rows = [entry_values(digest_id, i, e) for i, e in enumerate(digest.entries)]
                await session.execute(insert(DigestEntryRow), rows)


async def decode_commit(row: CommitRow) -> Commit:
    """A stored commit row as a Commit; big patch blobs are decoded in a worker thread."""
    files = await off_loop(len(row.files) * 4, lambda: decode_files(row.files))
    return INFO.validate_json(row.info).with_files(files)


async def _stored_shas(session: AsyncSession, commits: Sequence[Commit]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for repo in {c.repo for c in commits}:
        shas = [c.sha for c in commits if c.repo == repo]
        query = select(CommitRow.sha).where(CommitRow.repo == repo, CommitRow.sha.in_(shas))
        found.update((repo, sha) for sha in (await session.execute(query)).scalars())
    return found


def _commit_values(commit: Commit) -> dict[str, Any]:
    """A commit's row (blocking: the files are compressed)."""
    return {
        "repo": commit.repo,
        "sha": commit.sha,
        # UTC: SQLite keeps no offset, and the exact one is in `info`.
        "committed_at": commit.committed_at.astimezone(UTC),
        "pr_number": commit.pr_number,
        "info": INFO.dump_json(commit.info()).decode(),
        "files": encode_files(commit.files),
    }


def _analysis_values(analysis: CommitAnalysis) -> dict[str, Any]:
    identity = analysis.analyzer
    return {
        "sha": analysis.sha,
        "analyzer": identity.name,
        "prompt_version": identity.prompt_version,
        "model": identity.model,
        "language": analysis.language,
        "payload": ANALYSIS.dump_json(analysis).decode(),
        "created_at": datetime.now(UTC),
    }
