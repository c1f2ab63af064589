"""Report pages over HTTP: signed links for private repositories, escaping, JSON, chat links."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from adapters.pacing import Pacer
from adapters.slack.app import SlackPoster, slack_client
from adapters.web.links import LinkSigner, SignedReportLinks, page_url
from adapters.web.routes import REFUSED, ReportRoutes
from bot.chat import ChatTarget
from bot.delivery import Publisher, post_key
from bot.models import RepoDigest
from bot.storage.chat_store import SqlChatStore
from bot.storage.delivery_store import SqlDeliveryLog
from bot.storage.sql_store import SqlStore
from tests.chat_fixtures import built_digest
from tests.emulators.slack_api import SlackEmulator

SECRET = b"s" * 32


def signer(public: tuple[str, ...] = (), now: float | None = None) -> LinkSigner:
    moment = now if now is not None else datetime.now(UTC).timestamp()
    return LinkSigner(SECRET, public, 3600, clock=lambda: moment)


@pytest.fixture
async def digest(store: SqlStore) -> RepoDigest:
    return await built_digest(store, 8)


async def client_for(store: SqlStore, links: LinkSigner) -> httpx.AsyncClient:
    app = Starlette(routes=ReportRoutes(store, links).routes())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web")


@pytest.fixture
async def web(store: SqlStore) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(store, signer()) as client:
        yield client


async def test_a_signed_page_shows_the_report_and_hostile_text_stays_text(
    web: httpx.AsyncClient, digest: RepoDigest
) -> None:
    page = await web.get(page_url(signer(), digest))
    assert page.status_code == 200
    assert "script-src" not in page.headers["content-security-policy"]  # no script allowed at all
    assert page.headers["referrer-policy"] == "no-referrer"
    html = page.text
    assert "<script" not in html and 'href="javascript:' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for entry in digest.entries:  # every entry has its anchor, and the contents link to it
        anchor = f"c-{entry.commit.short_sha}"
        assert f'id="{anchor}"' in html and f'href="#{anchor}"' in html
    assert "<details open" in html  # entries fold


async def test_private_pages_refuse_unsigned_expired_and_tampered_links(
    store: SqlStore, web: httpx.AsyncClient, digest: RepoDigest
) -> None:
    good = page_url(signer(), digest)
    unsigned = good.split("&exp=")[0]
    assert (await web.get(unsigned)).status_code == 403
    assert REFUSED in (await web.get(unsigned)).text
    other_day = good.replace("/2026-02-19/", "/2026-02-18/")
    assert (await web.get(other_day)).status_code == 403  # a signature covers one page only
    old = page_url(signer(now=datetime(2020, 1, 1, tzinfo=UTC).timestamp()), digest)
    assert (await web.get(old)).status_code == 403
    assert (await web.get("/repos/acme/app")).status_code == 403
    async with await client_for(store, signer(public=("acme/*",))) as public:
        assert (await public.get(unsigned)).status_code == 200
        assert (await public.get("/repos/acme/app")).status_code == 200


async def test_index_and_json_api_serve_the_same_data(store: SqlStore, digest: RepoDigest) -> None:
    links = signer(public=("acme/app",))
    async with await client_for(store, links) as web:
        index = await web.get("/repos/acme/app")
        listed = (await web.get("/api/repos/acme/app")).json()
        one = (await web.get(listed[0]["url"].replace("/reports/", "/api/reports/"))).json()
        missing = await web.get("/reports/2026-02-18/acme/app?tz=UTC&lang=en")
    counts = digest.counts()
    assert "2026-02-19 (en, UTC)" in index.text
    assert listed[0]["counts"] == {s.value: n for s, n in counts.items()}
    assert [e["sha"] for e in one["entries"]] == [e.commit.sha for e in digest.entries]
    assert one["overview"] == digest.overview
    assert missing.status_code == 404


async def test_chat_posts_link_to_the_page_and_each_entry(
    store: SqlStore, web: httpx.AsyncClient, digest: RepoDigest
) -> None:
    links = SignedReportLinks("https://digest.example", signer())
    post = Publisher(
        SqlDeliveryLog(store.engine), SqlChatStore(store.engine), owner="t", links=links
    )
    target = ChatTarget("slack", "CWEB")
    with SlackEmulator() as slack:
        poster = SlackPoster(slack_client(slack.token, slack.api_url), Pacer([]))
        await post.publish(target, digest, poster, key=post_key("d", target, digest))
        texts = [m.all_text() for m in slack.posted]
    summary_link = texts[0].split("<https://digest.example", 1)[1].split("|", 1)[0]
    first = digest.entries[0]
    entry_links = [t for t in texts[1:] if f"#c-{first.commit.short_sha}|" in t]
    assert entry_links  # a thread reply links straight to its entry
    opened = await web.get(summary_link.replace("&amp;", "&"))
    assert opened.status_code == 200 and f'id="c-{first.commit.short_sha}"' in opened.text
    query = dict(parse_qsl(urlsplit(summary_link.replace("&amp;", "&")).query))
    assert {"tz", "lang", "exp", "sig"} <= set(query)


def test_a_public_url_without_a_signing_secret_is_refused_at_start() -> None:
    from bot.config import load_settings
    from bot.errors import ConfigError
    from digestbot.wiring import link_signer

    settings = load_settings({"DIGEST_PUBLIC_URL": "https://digest.example"})
    with pytest.raises(ConfigError, match="set DIGEST_LINK_SECRET too"):
        link_signer(settings)
