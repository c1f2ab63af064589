"""The SQL store round-trips every value on SQLite and PostgreSQL, and keeps each patch once."""

from __future__ import annotations

import zlib
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from bot.analyzers.rules import RULES_IDENTITY, RulesAnalyzer
from bot.config import RulesConfig
from bot.days import DayWindow
from bot.models import (
    AnalyzerIdentity,
    Commit,
    CommitInfo,
    DigestEntry,
    DigestSummary,
    RepoDigest,
    Usage,
)
from bot.storage.sql_store import SqlStore
from tests.chat_fixtures import engine_for
from tests.factories import ListSource, change, commit

RULES = RulesAnalyzer(RulesConfig())
DAY = date(2026, 2, 19)
MARKER = "unique_marker_6b1f"


async def test_commit_round_trip_keeps_every_field(store: SqlStore) -> None:
    c = commit(
        "feat: ünïcode 变更 (#5)",
        change("src/a.py", 3),
        change("b.png", binary=True),
        body="body\n\nSigned-off-by: x",
    )
    await store.put_commit(c)
    await store.put_commit(c)  # immutable: storing twice is harmless
    assert await store.get_commit("acme/app", c.sha) == c
    assert await store.get_commit("acme/other", c.sha) is None


async def test_analysis_cache_key_includes_prompt_version_model_and_language(
    store: SqlStore,
) -> None:
    c = commit("fix: x", change("src/a.py"))
    analysis = RULES.analyze_now(c, "en")
    await store.put_analysis(analysis)
    assert await store.get_analysis(c.sha, RULES_IDENTITY, "en") == analysis
    assert await store.get_analysis(c.sha, RULES_IDENTITY, "zh") is None
    newer = AnalyzerIdentity("rules", "rules-2", "")
    assert await store.get_analysis(c.sha, newer, "en") is None


async def test_digest_is_replaced_not_duplicated(store: SqlStore) -> None:
    c = commit("fix: x", change("src/a.py"))
    await store.put_commit(c)
    entry = DigestEntry(c.info(), RULES.analyze_now(c, "en"))
    first = RepoDigest("acme/app", DAY, "UTC", "en", (entry,))
    await store.put_digest(first)
    second = replace(first, overview="new", usage=Usage(10, 5, 2, model_unreachable=True))
    await store.put_digest(second)
    assert await store.get_digest("acme/app", DAY, "UTC", "en") == second
    assert await store.get_digest("acme/app", DAY, "UTC", "zh") is None
    assert len(await store.list_summaries("acme/app")) == 1


def _day() -> list[Commit]:
    return [
        commit(
            f"feat: part {i} (#{i})",
            replace(change(f"src/p{i}.py", 30), patch=f"+{MARKER} {i}\n" + "+x = 1\n" * 29),
            sha=f"{i:x}" * 40,
        )
        for i in range(1, 6)
    ]


async def test_a_digest_reads_back_without_patches_and_the_commit_store_has_them(
    store: SqlStore,
) -> None:
    built = await engine_for(store).build(
        ListSource("acme/app", _day()), DayWindow(DAY, "UTC"), "en"
    )
    stored = await store.get_digest("acme/app", DAY, "UTC", "en")
    assert stored == built and len(stored.entries) == 5
    assert all(type(e.commit) is CommitInfo for e in stored.entries)  # no files, no patch text
    whole = await store.get_commit("acme/app", stored.entries[0].commit.sha)
    assert whole is not None and MARKER in (whole.files[0].patch or "")


async def test_the_database_holds_each_patch_once(store: SqlStore) -> None:
    engine = engine_for(store)
    for language in ("en", "zh"):  # two digests of the same day share the commits
        await engine.build(ListSource("acme/app", _day()), DayWindow(DAY, "UTC"), language)
    copies = 0
    async with store.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        for table in tables:
            for row in (await connection.execute(text(f"SELECT * FROM {table}"))).all():
                for value in row:
                    found = zlib.decompress(value).decode() if isinstance(value, bytes) else value
                    copies += str(found).count(f"{MARKER} 1")
    assert copies == 1


async def test_summaries_list_counts_and_overview_newest_first(store: SqlStore) -> None:
    engine = engine_for(store)
    for day in (date(2026, 2, 18), DAY):
        await engine.build(ListSource("acme/app", _day()), DayWindow(day, "UTC"), "en")
    digest = await store.get_digest("acme/app", DAY, "UTC", "en")
    assert digest is not None
    summaries = await store.list_summaries("acme/app")
    assert [s.day for s in summaries] == [DAY, date(2026, 2, 18)]
    assert summaries[0] == digest.summary()
    assert summaries[0].counts() == digest.counts() and summaries[0].total == 5
    assert await store.list_summaries("acme/app", limit=1) == summaries[:1]
    assert await store.list_summaries("acme/other") == []


async def test_a_fallback_analysis_is_kept_in_its_digest_but_not_cached(store: SqlStore) -> None:
    [c] = _day()[:1]
    await store.put_commit(c)
    fallback = replace(RULES.analyze_now(c, "en"), fallback_reason="timeout")
    digest = RepoDigest("acme/app", DAY, "UTC", "en", (DigestEntry(c.info(), fallback),))
    await store.put_digest(digest)
    assert await store.get_digest("acme/app", DAY, "UTC", "en") == digest
    # the next run asks the model again: nothing is cached under the rules' key
    assert await store.get_analysis(c.sha, RULES_IDENTITY, "en") is None


async def test_a_digest_whose_commits_were_not_stored_is_refused(store: SqlStore) -> None:
    c = commit("fix: x", change("src/a.py"))
    digest = RepoDigest(
        "acme/app", DAY, "UTC", "en", (DigestEntry(c.info(), RULES.analyze_now(c, "en")),)
    )
    with pytest.raises(IntegrityError):
        await store.put_digest(digest)
    assert await store.get_digest("acme/app", DAY, "UTC", "en") is None  # nothing half-written


def test_a_summary_counts_like_its_digest() -> None:
    summary = DigestSummary("acme/app", DAY, "UTC", "en", high=2, medium=0, low=3)
    assert summary.total == 5 and list(summary.counts().values()) == [2, 0, 3]


async def test_a_sqlite_file_runs_in_wal_mode_and_every_commit_is_synced(store: SqlStore) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    async with store.engine.connect() as connection:
        mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
        synchronous = (await connection.execute(text("PRAGMA synchronous"))).scalar()
        keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar()
    # WAL: pages are read while a digest is written; FULL: a delivery claim survives a power cut
    assert (mode, synchronous, keys) == ("wal", 2, 1)
