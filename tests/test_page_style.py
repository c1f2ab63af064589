"""The report pages' look: readable colours in both schemes, and the index's severity chart."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from adapters.web.limits import SECURITY_HEADERS
from adapters.web.pages import CHART_DAYS, day_counts, render_index, render_page
from adapters.web.style import DARK, LIGHT, STYLE
from bot.models import RepoDigest
from tests.documents import sample_digest


def _luminance(colour: str) -> float:
    channels = (int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4))
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", [LIGHT, DARK], ids=["light", "dark"])
def test_every_text_colour_is_readable_on_both_backgrounds(scheme: dict[str, str]) -> None:
    for text in ("fg", "muted", "link", "high", "medium", "low"):
        for background in ("bg", "panel"):
            ratio = contrast(scheme[text], scheme[background])
            assert ratio >= 4.5, (text, background, round(ratio, 2))  # WCAG AA, normal text


def test_the_stylesheet_follows_the_reader_scheme_with_system_fonts() -> None:
    assert "@media (prefers-color-scheme:dark)" in STYLE and "color-scheme:light dark" in STYLE
    assert "font:16px/1.6 system-ui" in STYLE and '"Noto Color Emoji"' in STYLE
    assert "max-width:48rem" in STYLE  # about 75 characters a line
    page = render_page(sample_digest("en"), None)
    assert STYLE in page and "<main>" in page


def week(digest: RepoDigest) -> list[RepoDigest]:
    """The digest, three earlier days (2, 3 and 6 days before), and its day again in zh."""
    earlier = [replace(digest, day=digest.day - timedelta(days=n)) for n in (2, 3, 6)]
    return [digest, replace(digest, language="zh"), *earlier]


class _Svg(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_index_charts_severities_per_calendar_day() -> None:
    digest = sample_digest("en")
    days = day_counts([d.summary() for d in week(digest)])
    assert [d.day for d in days] == [digest.day - timedelta(days=n) for n in range(6, -1, -1)]
    assert [d.counts is not None for d in days] == [True, False, False, True, True, False, True]
    assert days[-1].total == len(digest.entries)  # the day digested twice counts once

    page = render_index("acme/app", [(d.summary(), "/x") for d in week(digest)])
    parser = _Svg()
    parser.feed(page)
    svg = next(attrs for tag, attrs in parser.tags if tag == "svg")
    assert svg["role"] == "img" and svg["aria-labelledby"] == "chart-title chart-desc"
    bars = [attrs for tag, attrs in parser.tags if tag == "rect"]
    assert {b["class"] for b in bars} == {"bar-high", "bar-medium", "bar-low"}
    heights = [float(b["height"] or 0) for b in bars if b["x"] == bars[-1]["x"]]
    assert sum(heights) == pytest.approx(96)  # the busiest day fills the plot
    desc = re.search(r'<desc id="chart-desc">(.*?)</desc>', page)
    assert desc and desc.group(1).startswith("2026-02-13: 3 high, 1 medium, 2 low; 2026-02-16")
    assert (
        "<script" not in page
        and "default-src 'none'" in SECURITY_HEADERS["Content-Security-Policy"]
    )


def test_the_chart_shows_at_most_a_month_and_escapes_its_labels() -> None:
    digest = replace(sample_digest("en"), repo='acme/<img src=x onerror="alert(1)">')
    many = [replace(digest, day=digest.day - timedelta(days=n)) for n in range(60)]
    assert len(day_counts([d.summary() for d in many])) == CHART_DAYS
    page = render_index(digest.repo, [(d.summary(), "/x") for d in many])
    assert "<img" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert page.count("<g>") == CHART_DAYS


def test_an_index_without_digests_has_no_chart() -> None:
    page = render_index("acme/app", [])
    assert "<svg" not in page and "No digests yet." in page
