"""Golden files: every renderer's exact output for one varied, hostile day, in Chinese and English.

Any change to what a reader sees fails here. After an intended change, rewrite the files with
`DIGESTBOT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py`, then review
`git diff tests/golden` before committing them.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol, cast

import pytest

from adapters.console import ConsolePoster
from adapters.slack.render import SlackRenderer
from adapters.telegram.render import TelegramRenderer
from adapters.web.pages import render_index, render_page
from bot.chat import EntryMessage, RenderedPost, SummaryMessage, thread_plan
from bot.models import RepoDigest, Report
from bot.report import render_report
from tests.documents import DAY, REPORT_URL, sample_digest

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("DIGESTBOT_UPDATE_GOLDEN") == "1"


class Renderer(Protocol):
    def render_post(
        self, summary: SummaryMessage, replies: Sequence[EntryMessage]
    ) -> RenderedPost: ...


def _post(renderer: Renderer, digest: RepoDigest) -> RenderedPost:
    summary = SummaryMessage(digest, REPORT_URL)
    return renderer.render_post(summary, thread_plan(digest, report_url=REPORT_URL))


def markdown(digest: RepoDigest) -> str:
    return render_report(Report(DAY, digest.language, (digest,)))


def page(digest: RepoDigest) -> str:
    raw = render_page(digest, "/repos/acme/app")
    assert ">\n<" not in raw  # so that the line breaks added for readable diffs lose nothing
    return raw.replace("><", ">\n<")


def index() -> str:
    """The repository's index with its chart: the day in both languages, three earlier ones."""
    digest = sample_digest("en")
    earlier = [
        replace(digest, day=DAY - timedelta(days=n), entries=digest.entries[n:]) for n in (1, 2, 4)
    ]
    listed = (digest, sample_digest("zh"), *earlier)
    rows = [
        (d.summary(), f"/reports/{d.day.isoformat()}/acme/app?lang={d.language}") for d in listed
    ]
    raw = render_index(digest.repo, rows)
    assert ">\n<" not in raw
    return raw.replace("><", ">\n<")


def slack(digest: RepoDigest) -> str:
    payloads = [p.payload for p in _post(SlackRenderer(), digest).parts()]
    return json.dumps(payloads, ensure_ascii=False, indent=1) + "\n"


def telegram(digest: RepoDigest) -> str:
    messages = [cast(dict[str, Any], p.payload) for p in _post(TelegramRenderer(), digest).parts()]
    return "".join(
        f"<!-- message {i} -->\n{m['html']}\n{_buttons(m['keyboard'])}"
        for i, m in enumerate(messages, 1)
    )


def _buttons(rows: list[list[dict[str, str]]]) -> str:
    """The inline keyboard, one line per row: each button's label and callback data."""
    return "".join(
        "<!-- buttons: " + " | ".join(f"{b['text']} → {b['callback_data']}" for b in row) + " -->\n"
        for row in rows
    )


def console(digest: RepoDigest) -> str:
    parts = _post(ConsolePoster(io.StringIO()), digest).parts()
    return "".join(
        f"[{i}] {cast(tuple[str, bool], p.payload)[0]}\n" for i, p in enumerate(parts, 1)
    )


RENDERERS: dict[str, tuple[str, Callable[[RepoDigest], str]]] = {
    "report": ("md", markdown),
    "page": ("html", page),
    "slack": ("json", slack),
    "telegram": ("html", telegram),
    "console": ("txt", console),
}


def _matches(path: Path, produced: str) -> None:
    if UPDATE:
        assert os.environ.get("CI") != "true", "golden files are rewritten by hand, never in CI"
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(produced, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    assert produced == expected, f"{path.name} changed: see the module docstring to rewrite it"


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("kind", list(RENDERERS))
def test_output_matches_its_golden_file(kind: str, language: str) -> None:
    suffix, render = RENDERERS[kind]
    _matches(GOLDEN / f"{kind}.{language}.{suffix}", render(sample_digest(language)))


def test_the_repository_index_matches_its_golden_file() -> None:
    _matches(GOLDEN / "index.html", index())
