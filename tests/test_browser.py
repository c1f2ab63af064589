"""Report pages in a real headless Chromium (Debian's), served by `digestbot web`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Literal

import pytest
from playwright.async_api import Page, async_playwright

from adapters.web.links import LinkSigner, page_url
from adapters.web.routes import REFUSED
from bot.models import RepoDigest
from bot.storage.sql_store import SqlStore
from tests.chat_fixtures import built_digest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SECRET = "browser-test-secret-at-least-32-bytes"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# Without these, Chromium reaches for Google's hosts, which this network refuses.
QUIET = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required under CI=true (tests/run_suite.sh installs it)")
        pytest.skip("Debian's chromium is not installed (tests/run_suite.sh installs it)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    _require_chromium()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_"))}
    env.update({"DIGEST_PUBLIC_URL": base, "DIGEST_LINK_SECRET": SECRET})
    process = subprocess.Popen(
        [sys.executable, "-m", "digestbot", "web", "--port", str(port), "--database", database_url],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120  # a hang guard for a busy machine, not a budget
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(30)


async def test_a_report_page_in_chromium(server: str, store: SqlStore) -> None:
    digest: RepoDigest = await built_digest(store, 10)
    signed = server + page_url(LinkSigner(SECRET.encode(), (), 86400), digest)
    dialogs: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=QUIET)
        page = await browser.new_page(viewport={"width": 1000, "height": 700})
        page.on("dialog", lambda d: dialogs.append(d.message))
        answer = await page.goto(signed)
        assert answer is not None and answer.status == 200
        assert "acme/app" in await page.title()

        target = f"c-{digest.entries[-1].commit.short_sha}"  # the last entry: far down the page
        await page.click(f'nav a[href="#{target}"]')
        assert await page.evaluate("location.hash") == f"#{target}"
        top = await page.evaluate(
            f"document.getElementById('{target}').getBoundingClientRect().top"
        )
        assert await page.evaluate("window.scrollY") > 0  # the link moved the page
        assert 0 <= top < await page.evaluate("window.innerHeight")  # the entry is in view

        assert await page.evaluate("document.scripts.length") == 0
        hostile = page.locator("details", has_text="alert(1)").first
        assert "<script>alert(1)</script>" in await hostile.inner_text()
        assert dialogs == []  # nothing executed

        await hostile.locator("summary").click()
        assert await hostile.evaluate("d => d.open") is False  # entries fold

        refused = await page.goto(signed.split("&exp=")[0])
        assert refused is not None and refused.status == 403
        assert REFUSED in await page.inner_text("body")
        await browser.close()


# What the reader's system asks for, and the page background each scheme must give.
Scheme = Literal["light", "dark"]
SCHEMES: dict[Scheme, str] = {"light": "rgb(255, 255, 255)", "dark": "rgb(13, 17, 23)"}


async def _week(store: SqlStore) -> RepoDigest:
    """A stored digest of a hostile day, and smaller ones on four of the six days before."""
    digest = await built_digest(store, 10)
    for back in (1, 2, 4, 6):
        earlier = replace(digest, day=digest.day - timedelta(days=back))
        await store.put_digest(replace(earlier, entries=digest.entries[back:]))
    return digest


@pytest.mark.parametrize("scheme", list(SCHEMES))
async def test_the_page_and_index_in_light_and_dark(
    server: str, store: SqlStore, scheme: Scheme
) -> None:
    digest = await _week(store)
    signer = LinkSigner(SECRET.encode(), (), 86400, scope="repo")  # the page links its index
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=QUIET)
        page = await browser.new_page(viewport={"width": 1000, "height": 700})
        await page.emulate_media(color_scheme=scheme)
        await page.goto(server + page_url(signer, digest))
        background = "getComputedStyle(document.body).backgroundColor"
        assert await page.evaluate(background) == SCHEMES[scheme]
        await _shoot(page, f"report-page-{scheme}.png")

        await page.click("p.repo a")  # to the repository's index, through the signed link
        assert await page.evaluate("location.pathname") == "/repos/acme/app"
        assert await page.evaluate(background) == SCHEMES[scheme]
        chart = page.locator("svg.chart")
        assert await chart.get_attribute("role") == "img"
        assert await chart.locator("title#chart-title").text_content() == (
            "Severities per day: acme/app"
        )
        assert await chart.locator("g").count() == 5  # five digested days of the seven
        box = await chart.bounding_box()
        assert box is not None and box["height"] > 100  # drawn, not an empty box
        assert await page.evaluate("document.scripts.length") == 0
        await _shoot(page, f"repo-index-{scheme}.png")
        await browser.close()


async def _shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    assert (ARTIFACTS / name).stat().st_size > 10_000
