"""Shared pieces for the chat adapter tests: digests (plain, huge, hostile) and a core."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from bot.analyzers.rules import RulesAnalyzer
from bot.chat import ChatTarget
from bot.config import FilterConfig, RulesConfig
from bot.conversation import ChannelSetup, Conversation
from bot.days import DayWindow
from bot.delivery import Publisher
from bot.digest import CommitFilter, DigestEngine
from bot.followup import StoredAnswerer
from bot.models import Commit, DigestEntry, RepoDigest, Severity, order_entries
from bot.ports import CommitSource
from bot.storage.chat_store import SqlChatStore
from bot.storage.delivery_store import SqlDeliveryLog
from bot.storage.sql_store import SqlStore
from tests.factories import ListSource, change, commit, day_of_commits

DAY = date(2026, 2, 19)
HOSTILE_TITLE = "fix: <!channel> <script>alert(1)</script> & *bold* _it_ `tick` <b>x</b> @here"


def hostile_day(n: int = 24) -> list[Commit]:
    """A day of `n` commits, one of them with a hostile message."""
    commits = day_of_commits(n - 1)
    evil = commit(
        HOSTILE_TITLE,
        change("src/core/evil.py", 40),
        sha="e" * 40,
        body="<a href='javascript:alert(1)'>click</a> &amp; &lt;",
        when=datetime(2026, 2, 19, 23, 0, tzinfo=UTC),
    )
    return [*commits, evil]


def engine_for(store: SqlStore) -> DigestEngine:
    """The engine with the offline rules."""
    return DigestEngine(RulesAnalyzer(RulesConfig()), store, CommitFilter(FilterConfig()))


async def built_digest(store: SqlStore, n: int = 24, language: str = "en") -> RepoDigest:
    """A stored, rules-analyzed digest of a hostile day."""
    source = ListSource("acme/app", hostile_day(n))
    return await engine_for(store).build(source, DayWindow(DAY, "UTC"), language)


def swollen(digest: RepoDigest, words: int = 900) -> RepoDigest:
    """The same digest with very long analyses, to force splitting."""
    long = " ".join(f"word{i}&<>" for i in range(words))
    entries = [
        DigestEntry(
            e.commit,
            replace(
                e.analysis,
                severity=Severity.HIGH if i % 3 == 0 else e.analysis.severity,
                summary=long,
                risks=tuple(f"risk {k}: {long[:600]}" for k in range(8)),
            ),
        )
        for i, e in enumerate(digest.entries)
    ]
    return replace(digest, entries=order_entries(entries), overview=long * 2)


def publisher(
    store: SqlStore,
    owner: str = "test-1",
    now: datetime | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Publisher:
    """A publisher recording into the store's database; its time stands still, or is `clock`'s."""
    moment = now or datetime.now(UTC)
    return Publisher(
        SqlDeliveryLog(store.engine),
        SqlChatStore(store.engine),
        owner=owner,
        now=clock or (lambda: moment),
    )


def later(minutes: int = 10) -> datetime:
    """A time after any lease a test publisher took."""
    return datetime.now(UTC) + timedelta(minutes=minutes)


def conversation(
    store: SqlStore, commits: list[Commit], repo: str = "acme/app", *, follows: bool = True
) -> Conversation:
    """The conversation core over a fixed list of commits, no model."""
    sources: dict[str, CommitSource] = {repo: ListSource(repo, commits)} if follows else {}
    setup = ChannelSetup(sources, "UTC", "en")

    def channels(_target: ChatTarget) -> ChannelSetup:
        return setup

    return Conversation(
        engine_for(store),
        store,
        SqlChatStore(store.engine),
        channels,
        StoredAnswerer(),
        publisher=publisher(store),
        now=lambda: datetime(2026, 2, 20, 9, tzinfo=UTC),
    )
