"""The hostile-input corpus through the web routes and the renderers.

Every answer is 4xx, never 5xx; no output carries live markup or control characters; request
bodies are capped before anything reads them; memory stays bounded; no secret reaches a log.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from slack_sdk.signature import SignatureVerifier
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.slack.render import SlackRenderer
from adapters.telegram.app import SECRET_HEADER
from adapters.telegram.render import TelegramRenderer
from adapters.web.limits import MAX_BODY, SECURITY_HEADERS
from adapters.web.links import page_url
from adapters.web.pages import render_index, render_page
from adapters.web.server import server_config
from bot.chat import EntryMessage, OutgoingMessage, SummaryMessage
from bot.config import FilterConfig, Settings, load_settings
from bot.days import DayWindow
from bot.digest import CommitFilter, DigestEngine
from bot.errors import ConfigError
from bot.models import RepoDigest, Report
from bot.report import render_report
from digestbot.logs import configure_logging
from digestbot.service import Service, open_service, web_app
from digestbot.wiring import open_core
from tests.emulators.slack_api import SlackEmulator
from tests.emulators.telegram_api import ALLOWED_TAGS, TelegramEmulator
from tests.factories import ListSource
from tests.hostile import (
    ALL_SECRETS,
    SECRETS,
    HostileAnalyzer,
    HostileOverviewer,
    control_characters,
    hostile_commits,
    leaked,
    live_html,
    live_markdown,
    live_mrkdwn,
    restored_logging,
)
from tests.served import clean_env, free_port, post_huge, served, wait_for

DAY = date(2026, 2, 19)
PAGE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "a", "table", "tr",
    "th", "td", "nav", "ul", "ol", "li", "details", "summary", "span", "strong",
    # the layout, and the index's inline SVG chart (markup, not script)
    "main", "div", "figure", "figcaption", "svg", "desc", "line", "text", "g", "rect",
}  # fmt: skip


@pytest.fixture
def restore_logging() -> Iterator[None]:
    yield from restored_logging()


class Counting:
    """Counts the request-body bytes the app pulls from the server (the transport)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.received = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            self.received += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@dataclass
class Site:
    """The whole web app in process, a stored hostile digest, and the settings behind it."""

    web: httpx.AsyncClient
    counter: Counting
    service: Service
    digest: RepoDigest
    settings: Settings
    env: dict[str, str]


@pytest.fixture
async def site(database_url: str) -> AsyncIterator[Site]:
    token = SECRETS["TELEGRAM_BOT_TOKEN"]
    with SlackEmulator(SECRETS["SLACK_BOT_TOKEN"]) as slack, TelegramEmulator(token) as telegram:
        env = {
            **SECRETS,
            "DATABASE_URL": database_url,
            "SLACK_API_URL": slack.api_url,
            "TELEGRAM_API_URL": telegram.api_url,
            "DIGEST_PUBLIC_URL": "https://digest.example",
        }
        settings = load_settings(env)
        core = await open_core(settings, "rules")
        engine = DigestEngine(
            HostileAnalyzer(),
            core.store,
            CommitFilter(FilterConfig()),
            overviewer=HostileOverviewer(),
        )
        digest = await engine.build(
            ListSource("acme/evil", hostile_commits()), DayWindow(DAY, "UTC"), "en"
        )
        service = await open_service(core, ())
        counter = Counting(web_app(service))
        transport = httpx.ASGITransport(app=counter, raise_app_exceptions=False)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://web") as web:
                yield Site(web, counter, service, digest, settings, env)
        finally:
            await service.close()


def slack_signed(body: bytes, secret: str = SECRETS["SLACK_SIGNING_SECRET"]) -> dict[str, str]:
    stamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


HOSTILE_BODIES = [
    b"",
    b"{",
    b'{"type": "url_verification", "challenge": ',
    b"\xff\xfe\x00\x01 not UTF-8",
    b"payload=%7B%22type%22%3A",
    b"payload=" + b"%FF" * 20,
    b"command=/digest&text=" + b"%00" * 20,
    b"[" * 60_000,  # json.loads recursion
    b'{"a":' * 30_000,
    b"\x00" * 1000,
    json.dumps({"type": "event_callback", "event": {"text": "x" * 500_000}}).encode(),
]  # fmt: skip
NOW = str(int(time.time()))
STAMP, SIGNATURE = b"X-Slack-Request-Timestamp", b"X-Slack-Signature"
HOSTILE_SLACK_HEADERS: list[list[tuple[bytes, bytes]]] = [
    [],
    [(STAMP, b"abc"), (SIGNATURE, b"v0=00")],
    [(STAMP, "²".encode()), (SIGNATURE, b"v0=00")],  # str.isdigit() says yes, int() no
    [(STAMP, b"9" * 5000), (SIGNATURE, b"v0=00")],
    [(STAMP, b"-1"), (SIGNATURE, b"v0=00")],
    [(STAMP, NOW.encode()), (SIGNATURE, "v0=é".encode())],  # compare_digest raises on non-ASCII
    [(STAMP, NOW.encode()), (SIGNATURE, b"v0=" + b"0" * 64)],
]


async def test_unsigned_or_malformed_slack_requests_are_401_never_500(site: Site) -> None:
    answers = set()
    for body in HOSTILE_BODIES:
        for headers in HOSTILE_SLACK_HEADERS:
            for kind in (b"application/json", b"application/x-www-form-urlencoded"):
                sent = [(b"Content-Type", kind), *headers]
                answer = await site.web.post("/slack/events", content=body, headers=sent)
                answers.add(answer.status_code)
                assert "Traceback" not in answer.text
    assert answers == {401}


async def test_signed_slack_requests_still_reach_bolt(site: Site) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"}).encode()
    answer = await site.web.post(
        "/slack/events",
        content=body,
        headers={"Content-Type": "application/json", **slack_signed(body)},
    )
    assert answer.status_code == 200 and "c-123" in answer.text


NOT_UPDATES = [
    b"[]", b'"x"', b"{}", b"null", b"42", b'{"update_id": "x"}', b'{"update_id": true}',
    b'{"update_id": 1.5}', b'{"update_id": 1, "message": "x"}',
    b'{"update_id": 1, "message": {"date": "x"}}',
    b'{"update_id": 1, "message": {"message_id": 1, "date": 1e400, "chat": {"id": 1}}}',
    b'{"update_id": 1, "message": {"message_id": 1, "date": 99e99, "chat": {"id": 1}}}',
    b'{"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": []}}',
    b"[" * 100_000, b"\xff\xfe", b"{", b'{"update_id": 1',
]  # fmt: skip


async def test_the_telegram_webhook_refuses_what_is_not_an_update(site: Site) -> None:
    secret = {SECRET_HEADER: SECRETS["TELEGRAM_WEBHOOK_SECRET"]}
    answers = {}
    for body in NOT_UPDATES:
        answer = await site.web.post("/telegram/webhook", content=body, headers=secret)
        answers[body[:40]] = answer.status_code
    update = {"update_id": 7, "message": {"message_id": 1, "date": 1, "text": "hi",
                                          "chat": {"id": 5, "type": "private"}}}  # fmt: skip
    good = await site.web.post("/telegram/webhook", json=update, headers=secret)
    header = SECRET_HEADER.encode()
    forged = [
        await site.web.post("/telegram/webhook", json=update, headers=h)
        for h in ([], [(header, b"wrong")], [(header, "é".encode())])
    ]
    assert set(answers.values()) == {400}, answers
    assert good.status_code == 200
    assert [f.status_code for f in forged] == [403, 403, 403]


async def fifty_megabytes() -> AsyncIterator[bytes]:
    chunk = b"[" * 65536
    for _ in range((50 << 20) // len(chunk)):
        yield chunk


ROUTES = [
    ("POST", "/slack/events"),
    ("POST", "/telegram/webhook"),
    ("GET", "/healthz"),
    ("POST", "/repos/acme/evil"),
    ("GET", "/reports/2026-02-19/acme/evil?tz=UTC&lang=en"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_bodies_over_the_cap_are_413_and_never_read_past_it(
    site: Site, method: str, path: str
) -> None:
    secret = {SECRET_HEADER: SECRETS["TELEGRAM_WEBHOOK_SECRET"]}
    chunked = await site.web.request(method, path, content=fifty_megabytes(), headers=secret)
    read_chunked, site.counter.received = site.counter.received, 0
    declared = await site.web.request(
        method, path, content=fifty_megabytes(), headers={**secret, "Content-Length": str(50 << 20)}
    )
    assert chunked.status_code == declared.status_code == 413
    assert read_chunked <= MAX_BODY + 65536  # counted as it arrived, stopped at the cap
    assert site.counter.received == 0  # a declared length over the cap: not a byte read
    assert chunked.headers["connection"] == "close"  # the server stops reading the rest


HOSTILE_URLS = [
    "/reports/2026-02-19/../../../etc/passwd",
    "/reports/%2e%2e/%2e%2e/etc/passwd",
    "/reports/2026-02-19/" + "a" * 8000,
    "/repos/" + "%F0%9F%92%A9" * 300,
    "/repos/%ff%fe%fd",
    "/reports/9999-99-99/acme/evil",
    "/reports/2026-02-19/acme/evil?tz=" + "A" * 5000 + "&lang=en",
    "/reports/2026-02-19/acme/evil?tz=../../etc&lang=<script>",
    "/api/reports/2026-02-19/acme/evil?tz=UTC&lang=en&exp=%C2%B2&sig=x",
    "/repos/acme/evil?exp=" + "9" * 5000 + "&sig=%C3%A9",
    "/repos/acme/evil?exp=99999999999&sig=%E2%80%AE",
    "/repos/%00",
    "/healthz?%00=%00",
    "/slack/events",
    "/telegram/webhook",
    "/%0d%0aSet-Cookie:%20x=1",
    "/reports/2026-02-19/acme%2Fevil?tz=UTC&lang=en",
    "/reports/2026-02-19/acme/evil?tz=UTC&lang=en&tz=Europe/Paris&sig=&exp=",
    "/api/repos/acme/evil?isig=x&exp=1&sig=y",
]


async def test_hostile_urls_are_4xx_with_the_security_headers(site: Site) -> None:
    for url in HOSTILE_URLS:
        answer = await site.web.get(url)
        assert 400 <= answer.status_code < 500, (url[:80], answer.status_code)
        assert "Traceback" not in answer.text and "set-cookie" not in answer.headers
        for header, value in SECURITY_HEADERS.items():
            assert answer.headers.get(header) == value, (url[:80], header)


async def test_a_hostile_digest_through_the_web_routes_stays_text(site: Site) -> None:
    url = page_url(site.service.core.signer, site.digest, None)
    page = await site.web.get(url)
    index = await site.web.get("/repos/acme/evil?" + url.split("?", 1)[1])
    api = await site.web.get(url.replace("/reports/", "/api/reports/", 1))
    assert page.status_code == api.status_code == 200
    assert index.status_code == 403  # a chat link opens its page, not the index
    assert live_html(page.text, PAGE_TAGS) == []
    assert api.json()["entries"][0]["summary"].startswith("# INJECTED")  # data, as data


def _strings(payload: Any) -> Iterator[str]:
    if isinstance(payload, str):
        yield payload
    elif isinstance(payload, dict):
        for value in payload.values():
            yield from _strings(value)
    elif isinstance(payload, list | tuple):
        for value in payload:
            yield from _strings(value)


def outputs(digest: RepoDigest) -> dict[str, str]:
    """Every place hostile text lands, rendered."""
    link = "https://digest.example/reports/x"
    messages: list[OutgoingMessage] = [
        SummaryMessage(digest, link),
        EntryMessage(digest, digest.entries, link),
    ]
    slack = [p.payload for m in messages for p in SlackRenderer().render(m)]
    telegram = [p.payload for m in messages for p in TelegramRenderer().render(m)]
    return {
        "markdown": render_report(Report(digest.day, "en", (digest,))),
        "page": render_page(digest, "/repos/acme/evil"),
        "index": render_index(digest.repo, [(digest.summary(), link)]),
        "slack": "\n".join(_strings(slack)),
        "telegram": "\n".join(str(t["html"]) for t in telegram),  # type: ignore[index]
    }


def _markup(name: str, text: str) -> list[str]:
    if name == "markdown":
        return live_markdown(text)
    if name == "slack":
        return live_mrkdwn(text)
    allowed = set(ALLOWED_TAGS) if name == "telegram" else PAGE_TAGS
    return live_html(text, allowed)


OUTPUTS = ["markdown", "page", "index", "slack", "telegram"]


@pytest.mark.parametrize("output", OUTPUTS)
async def test_no_hostile_text_becomes_live_markup(site: Site, output: str) -> None:
    assert _markup(output, outputs(site.digest)[output]) == []


@pytest.mark.parametrize("output", OUTPUTS)
async def test_no_control_character_reaches_an_output(site: Site, output: str) -> None:
    assert control_characters(outputs(site.digest)[output]) == []


async def test_no_secret_reaches_the_logs_while_the_corpus_runs(
    site: Site, caplog: pytest.LogCaptureFixture, restore_logging: None
) -> None:
    stream = io.StringIO()
    configure_logging(site.settings, {}, stream=stream)
    caplog.set_level(logging.DEBUG)
    for url in HOSTILE_URLS:
        await site.web.get(url)
    for body in HOSTILE_BODIES[:4]:
        await site.web.post("/slack/events", content=body)
        await site.web.post("/telegram/webhook", content=body)
    await site.web.get(page_url(site.service.core.signer, site.digest, None))
    await site.service.telegram.bot.get_me()  # type: ignore[union-attr]
    logging.getLogger("httpx").warning("HTTP Request: %s", f"/bot{SECRETS['TELEGRAM_BOT_TOKEN']}/x")
    assert "/bot[redacted]/x" in stream.getvalue()
    assert leaked(stream.getvalue() + caplog.text, ALL_SECRETS) == []


def test_the_link_secret_is_refused_in_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "digestbot.toml"
    path.write_text('[web]\nlink_secret = "a-secret-in-a-file-that-gets-committed"\n')
    with pytest.raises(ConfigError) as refused:
        load_settings({}, path)
    assert str(refused.value) == (
        f"{path}: [web] link_secret is a secret: remove it from the file and set "
        "DIGEST_LINK_SECRET in the environment"
    )
    path.write_text('[slack]\nbot_token = "xoxb-in-a-file"\n')
    with pytest.raises(ConfigError, match=r"\[slack\] bot_token is a secret.*SLACK_BOT_TOKEN"):
        load_settings({}, path)


def test_a_short_link_secret_refuses_to_start(capsys: pytest.CaptureFixture[str]) -> None:
    from digestbot.cli import main

    with pytest.MonkeyPatch.context() as env:
        env.setenv("DIGEST_LINK_SECRET", "short-secret")
        assert main(["migrate", "--database", "sqlite:///:memory:"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "digestbot: DIGEST_LINK_SECRET is 12 bytes; it needs at least 32 (e.g. python3 -c "
        "'import secrets; print(secrets.token_urlsafe(32))')"
    ]
    settings = load_settings({"DIGEST_LINK_SECRET": "x" * 32})
    assert settings.web.link_secret is not None


async def test_a_request_head_that_never_ends_is_cut_off(site: Site) -> None:
    config = server_config(site.counter, "127.0.0.1", free_port(), head_seconds=0.5)
    server = uvicorn.Server(config)
    running = asyncio.create_task(server.serve())
    try:
        await asyncio.to_thread(wait_for, lambda: server.started)
        slow = await asyncio.to_thread(_trickle_head, config.port)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{config.port}") as client:
            healthy = await client.get("/healthz")
    finally:
        server.should_exit = True
        await running
    assert slow == b""  # the server closed the connection: no request was ever handled
    assert healthy.status_code == 200  # a whole request in time is served as before


def _trickle_head(port: int) -> bytes:
    """Send a request head a byte at a time, never finishing; what the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        try:
            for _ in range(600):  # far beyond the deadline if the server never closes
                sock.sendall(b"X")
                sock.settimeout(0.05)
                try:
                    return sock.recv(100)
                except TimeoutError:
                    continue
        except OSError:
            return b""
    return b"never closed"


def test_fifty_megabyte_posts_to_a_real_process_leave_its_memory_flat(
    tmp_path: Path, database_url: str
) -> None:
    with SlackEmulator() as slack, TelegramEmulator(SECRETS["TELEGRAM_BOT_TOKEN"]) as telegram:
        env = clean_env(
            SLACK_BOT_TOKEN=slack.token,
            SLACK_API_URL=slack.api_url,
            SLACK_SIGNING_SECRET=SECRETS["SLACK_SIGNING_SECRET"],
            TELEGRAM_BOT_TOKEN=SECRETS["TELEGRAM_BOT_TOKEN"],
            TELEGRAM_API_URL=telegram.api_url,
            TELEGRAM_WEBHOOK_SECRET=SECRETS["TELEGRAM_WEBHOOK_SECRET"],
        )
        with served("web", env, database_url, tmp_path) as web:
            before = web.rss_mib()
            hook = f"{SECRET_HEADER}: {SECRETS['TELEGRAM_WEBHOOK_SECRET']}\r\n"
            posts = [("/slack/events", d, "") for d in (True, False, True, False)]
            posts += [("/telegram/webhook", d, hook) for d in (True, False)]
            with ThreadPoolExecutor(len(posts)) as pool:  # all at once, as an attacker would
                answers = list(
                    pool.map(
                        lambda p: post_huge(web.port, p[0], 50 << 20, declared=p[1], headers=p[2]),
                        posts,
                    )
                )
            after = web.rss_mib()
            log = web.log()
    assert [status for status, _ in answers] == ["HTTP/1.1 413 Request Entity Too Large"] * 6
    assert all(sent < 50 << 20 for _, sent in answers)  # the server hung up; the rest never went
    # Before the cap one such POST cost ~300 MB; 40 MB is slack for allocator noise.
    assert after - before < 40, (before, after)
    assert "Traceback" not in log
