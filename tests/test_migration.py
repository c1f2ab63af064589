"""Migration 0006 converts digests stored whole (revision 0003) into summary and entry rows."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, date, datetime
from importlib.resources import as_file
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from pydantic import TypeAdapter
from sqlalchemy import create_engine, inspect, text

from bot.analyzers.rules import RULES_IDENTITY, RulesAnalyzer
from bot.config import RulesConfig
from bot.models import Commit, CommitAnalysis, DigestEntry, RepoDigest, Usage
from bot.storage.database import _MIGRATIONS, _alembic_config, migrate, sync_url
from bot.storage.database import create_engine as create_async
from bot.storage.sql_store import SqlStore
from tests.conftest import _reset_postgres
from tests.factories import change, commit

RULES = RulesAnalyzer(RulesConfig())
COMMIT = TypeAdapter(Commit)
ANALYSIS = TypeAdapter(CommitAnalysis)
DAY = date(2026, 2, 19)
CREATED = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def fresh_url(tmp_path: Path) -> str:
    """An empty database (no schema yet): SQLite, or PostgreSQL when the suite says so."""
    chosen = os.environ.get("DIGESTBOT_TEST_DATABASE", "sqlite")
    if chosen == "sqlite":
        return f"sqlite:///{tmp_path / 'old.sqlite3'}"
    _reset_postgres(chosen)
    return chosen


def _old_digest(digest: RepoDigest, commits: dict[str, Commit]) -> str:
    """A digest as revision 0003 stored it: every commit whole, patches and all."""
    return json.dumps(
        {
            "repo": digest.repo,
            "day": digest.day.isoformat(),
            "tz": digest.tz,
            "language": digest.language,
            "entries": [
                {
                    "commit": json.loads(COMMIT.dump_json(commits[e.commit.sha])),
                    "analysis": json.loads(ANALYSIS.dump_json(e.analysis)),
                }
                for e in digest.entries
            ],
            "overview": digest.overview,
            "usage": json.loads(TypeAdapter(Usage).dump_json(digest.usage)),
        }
    )


class OldDatabase:
    """Rows written the 0003 way: commits as whole JSON, digests repeating them."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(sync_url(url))

    def commit(self, c: Commit) -> None:
        self._insert(
            "commits",
            repo=c.repo,
            sha=c.sha,
            committed_at=c.committed_at,
            payload=COMMIT.dump_json(c).decode(),
        )

    def analysis(self, a: CommitAnalysis) -> None:
        identity = a.analyzer
        self._insert(
            "analyses",
            sha=a.sha,
            analyzer=identity.name,
            prompt_version=identity.prompt_version,
            model=identity.model,
            language=a.language,
            payload=ANALYSIS.dump_json(a).decode(),
            created_at=CREATED,
        )

    def digest(self, digest: RepoDigest, commits: dict[str, Commit]) -> None:
        self._insert(
            "digests",
            repo=digest.repo,
            day=digest.day,
            tz=digest.tz,
            language=digest.language,
            payload=_old_digest(digest, commits),
            created_at=CREATED,
        )

    def payloads(self, table: str) -> list[Any]:
        with self.engine.connect() as connection:
            rows = connection.execute(text(f"SELECT payload FROM {table}")).scalars().all()
        return sorted((json.loads(r) for r in rows), key=json.dumps)

    def _insert(self, table: str, **values: Any) -> None:
        names = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        with self.engine.begin() as connection:
            connection.execute(text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), values)


def _history() -> tuple[dict[str, Commit], RepoDigest, RepoDigest]:
    """Two stored digests (en, zh) of one day; one commit only in a digest; three analyses kinds."""
    commits = {
        c.sha: c
        for c in [
            commit("feat: api (#7)", change("src/api.py", 40), sha="a" * 40),
            commit("fix: 变更 retry", change("src/retry.py", 5), sha="b" * 40),
            commit("docs: guide", change("docs/guide.md", 3), sha="c" * 40),
        ]
    }
    a, b, c = commits.values()
    fallback = replace(RULES.analyze_now(b, "en"), fallback_reason="timeout")
    english = RepoDigest(
        "acme/app",
        DAY,
        "Europe/Berlin",
        "en",
        (
            DigestEntry(a.info(), RULES.analyze_now(a, "en")),
            DigestEntry(b.info(), fallback),
            DigestEntry(c.info(), RULES.analyze_now(c, "en")),
        ),
        "A busy day.",
        Usage(120, 40, 3, model_unreachable=True),
    )
    # the cache holds another answer for this key than the one the digest showed
    shown = replace(RULES.analyze_now(a, "zh"), summary="shown in the zh digest")
    chinese = RepoDigest("acme/app", DAY, "Europe/Berlin", "zh", (DigestEntry(a.info(), shown),))
    return commits, english, chinese


def _write_history(old: OldDatabase) -> tuple[RepoDigest, RepoDigest]:
    commits, english, chinese = _history()
    a, b, _ = commits.values()
    old.commit(a)
    old.commit(b)  # the third commit is only in the digest's payload
    old.analysis(english.entries[0].analysis)
    old.analysis(RULES.analyze_now(a, "zh"))  # differs from what the zh digest showed
    old.digest(english, commits)
    old.digest(chinese, commits)
    return english, chinese


async def test_stored_digests_survive_the_migration_whole(fresh_url: str) -> None:
    migrate(fresh_url, "0003")
    old = OldDatabase(fresh_url)
    english, chinese = _write_history(old)
    migrate(fresh_url)
    columns = {c["name"] for c in inspect(old.engine).get_columns("digests")}
    old.engine.dispose()
    assert "payload" not in columns
    store = SqlStore(create_async(fresh_url))
    try:
        assert await store.get_digest("acme/app", DAY, "Europe/Berlin", "en") == english
        assert await store.get_digest("acme/app", DAY, "Europe/Berlin", "zh") == chinese
        summaries = await store.list_summaries("acme/app")
        third = await store.get_commit("acme/app", "c" * 40)
        cached = await store.get_analysis("b" * 40, RULES_IDENTITY, "en")
    finally:
        await store.close()
    assert [s.total for s in summaries] == [3, 1]
    assert summaries[0].counts() == english.counts() and summaries[0].overview == "A busy day."
    assert third is not None and third == _history()[0]["c" * 40]  # with its patch
    assert cached is None  # the fallback stays out of the cache


def test_the_migration_goes_back_to_whole_digests(fresh_url: str) -> None:
    migrate(fresh_url, "0003")
    old = OldDatabase(fresh_url)
    _write_history(old)
    before = (old.payloads("digests"), old.payloads("commits"))
    migrate(fresh_url)
    with as_file(_MIGRATIONS) as migrations:
        command.downgrade(_alembic_config(fresh_url, migrations), "0003")
    after_digests = old.payloads("digests")
    after_commits = old.payloads("commits")
    old.engine.dispose()
    assert after_digests == before[0]
    # the commit found only in a digest's payload is now also a commit row
    assert len(after_commits) == 3 and all(c in after_commits for c in before[1])
