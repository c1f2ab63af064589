"""Report pages over HTTP: signed links for private repositories, escaping, JSON, chat links.

Links derived from a request (index links on a page, day links on an index) never outlive it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from adapters.pacing import Pacer
from adapters.slack.app import SlackPoster, slack_client
from adapters.web.limits import SECURITY_HEADERS, guarded_app
from adapters.web.links import LinkSigner, SignedReportLinks, page_url
from adapters.web.routes import REFUSED, ReportRoutes
from bot.chat import ChatTarget
from bot.delivery import Publisher, post_key
from bot.models import DigestSummary, RepoDigest
from bot.storage.chat_store import SqlChatStore
from bot.storage.delivery_store import SqlDeliveryLog
from bot.storage.sql_store import SqlStore
from tests.chat_fixtures import built_digest
from tests.emulators.slack_api import SlackEmulator

SECRET = b"s" * 32


def signer(
    public: tuple[str, ...] = (), now: float | None = None, scope: str = "page"
) -> LinkSigner:
    moment = now if now is not None else datetime.now(UTC).timestamp()
    return LinkSigner(SECRET, public, 3600, clock=lambda: moment, scope=scope)


@pytest.fixture
async def digest(store: SqlStore) -> RepoDigest:
    return await built_digest(store, 8)


async def client_for(store: SqlStore, links: LinkSigner) -> httpx.AsyncClient:
    app = guarded_app(ReportRoutes(store, links).routes())
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


class Clock:
    """An injected clock the test moves by hand."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def hrefs(html: str, prefix: str) -> list[str]:
    found = re.findall(r'href="(' + re.escape(prefix) + r'[^"]*)"', html)
    return [h.replace("&amp;", "&") for h in found]


async def test_links_derived_from_a_request_expire_with_it(
    store: SqlStore, digest: RepoDigest
) -> None:
    clock = Clock(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
    links = LinkSigner(SECRET, (), 3600, clock=clock, scope="repo")
    chat_link = page_url(links, digest)
    issued = int(query_of(chat_link)["exp"])
    async with await client_for(store, links) as web:
        clock.now += 3000  # ten minutes before the chat link expires
        page = await web.get(chat_link)
        [index_link] = hrefs(page.text, "/repos/")
        index = await web.get(index_link)
        day_links = hrefs(index.text, "/reports/")
        listed = (await web.get(index_link.replace("/repos/", "/api/repos/", 1))).json()
        one = (await web.get(chat_link.replace("/reports/", "/api/reports/", 1))).json()
        assert index.status_code == 200 and day_links
        derived = [index_link, *day_links, *(d["url"] for d in listed), one["url"]]
        assert {int(query_of(u)["exp"]) for u in derived} == {issued}  # not now + 3600
        clock.now = issued + 1
        answers = [(await web.get(u)).status_code for u in [chat_link, *derived]]
    assert set(answers) == {403}


async def test_a_page_link_opens_the_index_only_when_the_bot_issued_one(
    store: SqlStore, digest: RepoDigest
) -> None:
    page_only = signer()
    async with await client_for(store, page_only) as web:
        link = page_url(page_only, digest)
        page = await web.get(link)
        q = query_of(link)
        own_sig = await web.get(f"/repos/acme/app?exp={q['exp']}&sig={q['sig']}")
        borrowed = await web.get(f"{link}&isig={q['sig']}")
    assert page.status_code == 200 and hrefs(page.text, "/repos/") == []
    assert "isig" not in q and own_sig.status_code == 403  # a page's signature is not an index's
    assert borrowed.status_code == 200 and hrefs(borrowed.text, "/repos/") == []
    wide = signer(scope="repo")
    async with await client_for(store, wide) as web:
        [index_link] = hrefs((await web.get(page_url(wide, digest))).text, "/repos/")
        assert (await web.get(index_link)).status_code == 200


HOSTILE_SIGNATURES = [
    "exp=%C2%B2&sig=x",  # "²": str.isdigit() says yes, int() says no
    "exp=" + "9" * 5000 + "&sig=x",  # int() refuses more than 4,300 digits
    "exp=99999999999&sig=%C3%A9%E2%80%AE",  # non-ASCII: hmac.compare_digest raises TypeError
    "exp=99999999999&sig=" + "%FF" * 40,  # not UTF-8
    "exp=-1&sig=",
    "exp=1e12&sig=x",
    "exp=%EF%BC%99%EF%BC%99&sig=x",  # full-width digits
    "exp=1&exp=99999999999&sig=x&sig=y&isig=z",
]


@pytest.mark.parametrize("query", HOSTILE_SIGNATURES)
async def test_hostile_link_parameters_are_refused_never_an_error(
    web: httpx.AsyncClient, digest: RepoDigest, query: str
) -> None:
    paths = ["/reports/2026-02-19/acme/app?tz=UTC&lang=en&", "/repos/acme/app?"]
    for path in paths + [p.replace("/", "/api/", 1) for p in paths]:
        answer = await web.get(path + query)
        assert answer.status_code == 403, (path, answer.status_code)


NUL_URLS = [
    "/reports/2026-02-19/acme/app%00?tz=UTC&lang=en",
    "/reports/2026-02-19/acme/app?tz=UTC%00&lang=en",
    "/reports/2026-02-19/acme/app?tz=UTC&lang=en%00",
    "/api/reports/2026-02-19/acme%00/app?tz=UTC&lang=en",
    "/repos/acme/app%00",
    "/api/repos/%00",
    "/repos/acme/app%1B%5B2J",
]


async def test_nul_and_control_characters_in_urls_are_400(store: SqlStore) -> None:
    # A public repository: nothing stops these before the database (PostgreSQL refuses NUL).
    async with await client_for(store, signer(public=("*",))) as web:
        answers = {url: (await web.get(url)).status_code for url in NUL_URLS}
    assert set(answers.values()) == {400}, answers


class BrokenArchive:
    """An archive whose database is gone; the error text holds a password."""

    async def get_digest(self, repo: str, day: object, tz: str, language: str) -> RepoDigest:
        raise RuntimeError("connection to postgresql://u:hunter2@db failed")

    async def list_summaries(self, repo: str, limit: int = 400) -> list[DigestSummary]:
        raise RuntimeError("connection to postgresql://u:hunter2@db failed")

    async def summaries_with(
        self, repo: str, shas: Sequence[str], limit: int = 100
    ) -> list[DigestSummary]:
        raise RuntimeError("connection to postgresql://u:hunter2@db failed")


async def test_every_response_carries_the_page_security_headers(
    store: SqlStore, digest: RepoDigest
) -> None:
    good = signer(public=("acme/public",))
    async with await client_for(store, good) as web:
        answers = {
            "200": await web.get(page_url(good, digest)),
            "403": await web.get("/repos/acme/app"),
            "404": await web.get("/nowhere"),
            "404 day": await web.get("/reports/not-a-day/acme/app"),
            "405": await web.post("/repos/acme/app"),
            "400": await web.get("/repos/acme%00"),
            "413": await web.post("/repos/acme/app", content=b"x" * (2 << 20)),
        }
    app = guarded_app(ReportRoutes(BrokenArchive(), good).routes())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://web") as broken:
        answers["500"] = await broken.get("/repos/acme/public")
    for name, answer in answers.items():
        assert str(answer.status_code) == name.split()[0], name
        for header, value in SECURITY_HEADERS.items():
            assert answer.headers.get(header) == value, (name, header)
    assert "hunter2" not in answers["500"].text and "Traceback" not in answers["500"].text
