"""Links in chat posts: each SHA to its commit, each `#N` of a title to its pull request."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from telegram import Bot

from adapters.pacing import Pacer
from adapters.slack.app import SlackPoster, slack_client
from adapters.telegram.app import TelegramPoster
from bot.analyzers.rules import RulesAnalyzer
from bot.chat import ChatTarget
from bot.config import RulesConfig, load_settings
from bot.days import DayWindow
from bot.delivery import post_key
from bot.document import Run, entry_document
from bot.forge import add_github_host, github_web_base
from bot.models import DigestEntry, RepoDigest
from bot.storage.sql_store import SqlStore
from digestbot.wiring import open_core
from tests.chat_fixtures import engine_for, publisher
from tests.emulators.slack_api import SlackEmulator
from tests.emulators.telegram_api import TelegramEmulator
from tests.factories import ListSource, change, commit

SHA = "a1" * 20
WHEN = datetime(2026, 2, 19, 10, tzinfo=UTC)


def entry_of(title: str, url: str | None) -> DigestEntry:
    c = replace(commit(title, change("src/a.py"), sha=SHA, when=WHEN), url=url)
    return DigestEntry(c, RulesAnalyzer(RulesConfig()).analyze_now(c, "en"))


@pytest.mark.parametrize(
    ("api", "web"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("https://ghe.example.com/api/v3/", "https://ghe.example.com"),
        ("https://example.com/github/api/v3", "https://example.com/github"),
    ],
)
def test_the_web_base_of_a_github_api(api: str, web: str) -> None:
    assert github_web_base(api) == web


def test_each_pull_request_number_of_a_title_links_on_github() -> None:
    title = "fix: retry (#42), also #8; not org/other#7 nor abc#1"
    doc = entry_document(entry_of(title, f"https://github.com/acme/app/commit/{SHA}"), "en")
    assert doc.url == f"https://github.com/acme/app/commit/{SHA}"
    assert [r for r in doc.title_runs if r.url] == [
        Run("#42", "https://github.com/acme/app/pull/42"),
        Run("#8", "https://github.com/acme/app/pull/8"),
    ]
    assert "".join(r.text for r in doc.title_runs) == title


def test_other_forges_and_unlinked_commits_get_no_pull_request_link() -> None:
    gitlab = entry_document(entry_of("fix: a (#3)", f"https://gitlab.com/a/b/commit/{SHA}"), "en")
    assert gitlab.url is not None and all(r.url is None for r in gitlab.title_runs)
    local = entry_document(entry_of("fix: a (#3)", None), "en")
    assert local.url is None and all(r.url is None for r in local.title_runs)
    hostile = entry_document(entry_of("fix: a (#3)", "javascript:alert(1)//commit/aaaaaaa"), "en")
    assert hostile.url is None and all(r.url is None for r in hostile.title_runs)


async def test_github_enterprise_links_where_github_api_url_points(database_url: str) -> None:
    url = f"https://ghe-one.example.com/acme/api/commit/{SHA}"
    assert all(r.url is None for r in entry_document(entry_of("x (#5)", url), "en").title_runs)
    env = {"DATABASE_URL": database_url, "GITHUB_API_URL": "https://ghe-one.example.com/api/v3"}
    core = await open_core(load_settings(env), "rules")  # the composition root registers it
    await core.close()
    runs = entry_document(entry_of("x (#5)", url), "en").title_runs
    assert Run("#5", "https://ghe-one.example.com/acme/api/pull/5") in runs
    add_github_host("https://api.github.com")  # idempotent: github.com was there already


async def linked_day(store: SqlStore) -> RepoDigest:
    commits = [
        commit("feat(api): paging (#41)", change("src/api/p.py", 300), sha=SHA, when=WHEN),
        commit("docs: typo (#44)", change("docs/a.md", 1), sha="d4" * 20, when=WHEN),
    ]
    window = DayWindow(date(2026, 2, 19), "UTC")
    return await engine_for(store).build(ListSource("acme/app", commits), window, "en")


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def telegram() -> Iterator[TelegramEmulator]:
    with TelegramEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(telegram: TelegramEmulator) -> AsyncIterator[Bot]:
    async with Bot(telegram.token, base_url=telegram.api_url) as client:
        yield client


async def test_slack_posts_link_shas_and_pull_requests_without_previews(
    store: SqlStore, slack: SlackEmulator
) -> None:
    digest, target = await linked_day(store), ChatTarget("slack", "C1")
    poster = SlackPoster(slack_client(slack.token, slack.api_url), Pacer([]))
    await publisher(store).publish(target, digest, poster, key=post_key("d", target, digest))
    shown = "\n".join(m.all_text() for m in slack.posted)
    assert "*feat(api): paging (<https://github.com/acme/app/pull/41|#41>)*" in shown
    assert f"<https://github.com/acme/app/commit/{SHA}|{SHA[:7]}>" in shown
    assert "<https://github.com/acme/app/pull/44|#44>" in shown
    posts = [r.json() for r in slack.requests if r.path.endswith("chat.postMessage")]
    assert posts and all(p["unfurl_links"] is False and p["unfurl_media"] is False for p in posts)


async def test_telegram_posts_link_shas_and_pull_requests_without_previews(
    store: SqlStore, telegram: TelegramEmulator, bot: Bot
) -> None:
    digest, target = await linked_day(store), ChatTarget("telegram", "-100123")
    poster = TelegramPoster(bot, (Pacer([]), Pacer([])))
    await publisher(store).publish(target, digest, poster, key=post_key("d", target, digest))
    shown = "\n".join(m.html for m in telegram.sent)
    assert '<b>feat(api): paging (<a href="https://github.com/acme/app/pull/41">#41</a>)</b>' in (
        shown
    )
    assert f'<a href="https://github.com/acme/app/commit/{SHA}">{SHA[:7]}</a>' in shown
    sends = [r.form() for r in telegram.requests if r.path.endswith("sendMessage")]
    assert sends and all(json.loads(s["link_preview_options"])["is_disabled"] for s in sends)
