"""The SQL store round-trips every value on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from bot.analyzers.rules import RULES_IDENTITY, RulesAnalyzer
from bot.config import RulesConfig
from bot.models import AnalyzerIdentity, DigestEntry, RepoDigest
from bot.storage.sql_store import SqlStore
from tests.factories import change, commit


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
    analysis = RulesAnalyzer(RulesConfig()).analyze_now(c, "en")
    await store.put_analysis(analysis)
    assert await store.get_analysis(c.sha, RULES_IDENTITY, "en") == analysis
    assert await store.get_analysis(c.sha, RULES_IDENTITY, "zh") is None
    newer = AnalyzerIdentity("rules", "rules-2", "")
    assert await store.get_analysis(c.sha, newer, "en") is None


async def test_digest_is_replaced_not_duplicated(store: SqlStore) -> None:
    c = commit("fix: x", change("src/a.py"))
    entry = DigestEntry(c, RulesAnalyzer(RulesConfig()).analyze_now(c, "en"))
    first = RepoDigest("acme/app", date(2026, 2, 19), "UTC", "en", (entry,))
    await store.put_digest(first)
    second = RepoDigest("acme/app", date(2026, 2, 19), "UTC", "en", (entry,), overview="new")
    await store.put_digest(second)
    assert await store.get_digest("acme/app", date(2026, 2, 19), "UTC", "en") == second
    assert await store.get_digest("acme/app", date(2026, 2, 19), "UTC", "zh") is None
