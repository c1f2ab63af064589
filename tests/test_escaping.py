"""Hostile text through every renderer: no live markup, no control or bidi character, anywhere."""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from datetime import date, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.document import inline
from bot.models import Report
from bot.report import render_report
from bot.sanitize import clean
from digestbot.cli import main
from tests.documents import DAY, EVIL_FILE, FORBIDDEN, HOSTILE, hostile_entry, sample_digest
from tests.gitrepo import GitRepo
from tests.test_cli import env  # noqa: F401  (a fixture)
from tests.test_golden import RENDERERS

# Markdown as GitHub and most viewers read it: CommonMark with raw HTML, plus tables.
MARKDOWN = MarkdownIt("commonmark").enable("table")
ALLOWED_PAGE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "a", "table", "tr",
    "th", "td", "nav", "ul", "ol", "li", "details", "summary", "strong", "em", "span",
    # the layout, and the index's inline SVG chart (markup, not script)
    "main", "div", "figure", "figcaption", "svg", "desc", "line", "text", "g", "rect",
}  # fmt: skip


def plain(value: str) -> str:
    """What a reader must see of a hostile string: itself, cleaned, on one line."""
    return inline(clean(value))


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("kind", list(RENDERERS))
def test_no_control_or_bidi_character_reaches_any_output(kind: str, language: str) -> None:
    produced = RENDERERS[kind][1](sample_digest(language))
    if kind == "slack":
        produced = json.dumps(json.loads(produced), ensure_ascii=False)  # the texts as sent
    assert not [c for c in FORBIDDEN if c in produced]
    assert not [c for c in produced if unicodedata.category(c) == "Cc" and c not in "\n"]


def test_clean_strips_every_control_and_format_character_but_the_joiners_scripts_need() -> None:
    kept = {"\t", "\n", "\u200b", "\u200c", "\u200d"}
    invisible = [
        chr(c)
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) in ("Cc", "Cf") and chr(c) not in kept
    ]
    assert clean("".join(invisible)) == ""
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji, joined
    assert clean(family) == family
    assert clean("pay\u200dpal \u200cx") == "paypal x"  # a joiner beside ASCII only disguises
    assert clean("می\u200cخواهم") == "می\u200cخواهم"  # Persian needs its non-joiner


def _inline_tokens(tokens: list[Token]) -> list[Token]:
    return [t for t in tokens if t.type == "inline"]


def test_markdown_keeps_hostile_text_as_text() -> None:
    digest = sample_digest("en")
    markdown = render_report(Report(DAY, "en", (digest,)))
    tokens = MARKDOWN.parse(markdown)
    html = MARKDOWN.render(markdown)
    assert "<script" not in html and "<img" not in html and "javascript:" not in _hrefs(tokens)
    raw = [t.content for t in tokens if t.type == "html_block"]
    raw += [c.content for t in _inline_tokens(tokens) for c in t.children or [] if "html" in c.type]
    assert all(re.fullmatch(r'<a id="[a-z0-9-]+">(</a>)?\s*|</a>', r) for r in raw)  # anchors
    levels = [t.tag for t in tokens if t.type == "heading_open"]
    entries = len(digest.entries)
    assert levels.count("h1") == 1 and levels.count("h2") == 1  # no heading from commit text
    assert levels.count("h3") == 2 + 3 and levels.count("h4") == entries
    # Each hostile list item and cell reads back as exactly the string, and as text alone.
    wanted = {plain(h) for h in HOSTILE}
    found = [t for t in _inline_tokens(tokens) if _text_of(t) in wanted]
    assert {_text_of(t) for t in found} == wanted
    assert all({c.type for c in t.children or []} == {"text"} for t in found)


def _text_of(token: Token) -> str:
    return "".join(c.content for c in token.children or [] if c.type in ("text", "code_inline"))


def _hrefs(tokens: list[Token]) -> str:
    found = []
    for token in tokens:
        for child in [token, *(token.children or [])]:
            if child.type == "link_open":
                found.append(str(child.attrs.get("href", "")))
            assert child.type != "image", "commit or model text became an image"
    return " ".join(found)


def test_markdown_table_cells_stay_in_their_columns() -> None:
    markdown = render_report(Report(DAY, "en", (sample_digest("en"),)))
    tokens = MARKDOWN.parse(markdown)
    widths: list[int] = []
    for token in tokens:
        if token.type == "tr_open":
            widths.append(0)
        elif token.type in ("td_open", "th_open"):
            widths[-1] += 1
    assert widths and set(widths) <= {2, 3}  # the insights (2) and the commit table (3)
    assert widths.count(3) == 1 + len(sample_digest("en").entries)


def test_the_evil_file_name_never_lands_as_markup_in_the_report() -> None:
    entry = hostile_entry("en")
    markdown = render_report(Report(DAY, "en", (sample_digest("en"),)))
    assert EVIL_FILE not in markdown and "<script>" not in markdown
    assert "dist/v &lt;script&gt;alert(document.domain) .min.js" in markdown
    assert entry.analysis.coverage is not None  # …and the coverage note counts it, unnamed
    assert "1 vendored" in markdown


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.data.append(data)


def _parse(markup: str) -> _Tags:
    parser = _Tags()
    parser.feed(markup)
    parser.close()
    return parser


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_page_has_only_our_tags_and_shows_hostile_text_verbatim(language: str) -> None:
    from adapters.web.pages import render_page

    parsed = _parse(render_page(sample_digest(language), "/repos/acme/app"))
    assert {tag for tag, _ in parsed.tags} <= ALLOWED_PAGE_TAGS
    attrs = [(k, v or "") for _, pairs in parsed.tags for k, v in pairs]
    assert not [k for k, _ in attrs if k.startswith("on")]
    hrefs = [v for k, v in attrs if k == "href"]
    assert all(h.startswith(("#", "/repos/", "https://github.com/")) for h in hrefs)
    visible = "".join(parsed.data)
    for hostile in HOSTILE:
        assert plain(hostile) in visible, hostile


@pytest.mark.parametrize("language", ["zh", "en"])
def test_telegram_html_has_only_its_entities_and_shows_hostile_text(language: str) -> None:
    telegram = RENDERERS["telegram"][1](sample_digest(language))
    parsed = _parse(telegram)
    assert {tag for tag, _ in parsed.tags} <= {"b", "i", "code", "a"}
    assert all(v and v.startswith("https://") for _, p in parsed.tags for k, v in p if k == "href")
    visible = "".join(parsed.data)
    assert plain("<script>alert(1)</script>") in visible
    assert "<!channel>" not in visible and "@here" not in visible  # defused: "@\u200bhere"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_slack_mrkdwn_has_no_markup_but_our_links(language: str) -> None:
    payloads = json.loads(RENDERERS["slack"][1](sample_digest(language)))
    sections = [b for p in payloads for b in p["blocks"] if b["type"] == "section"]
    texts = [b["text"]["text"] for b in sections] + [p["text"] for p in payloads]
    joined = "\n".join(texts)
    # Our links (report pages, commits and pull requests), and characters written literally:
    # nothing else opens a tag.
    for text in texts:
        for opened in text.split("<")[1:]:
            ours = (
                "https://digest.example/",
                "https://github.com/acme/app/",
                "!date^00000000^{_}|",
            )
            assert opened.startswith(ours), opened
    assert "&lt;script&gt;" in joined and "@here" not in joined
    assert "<!channel" not in joined and "<!here" not in joined


def test_mrkdwn_formatting_characters_in_text_show_as_themselves() -> None:
    from adapters.slack.render import escape

    escaped = escape("> *bold* _it_ ~struck~ `code` snake_case :white_check_mark: <!here>")
    assert escaped.startswith("\u00ad&gt;")  # not a quote
    bare = re.sub(r"<!date\^00000000\^\{_\}\|[*_~`]>", "", escaped)
    assert not re.search(r"[*~`]", bare) and bare.count("_") == 3  # only inside words
    assert "snake_case" in bare and ":white_check_mark:" in bare and "@\u200bhere" in bare


@pytest.mark.usefixtures("env")  # the CLI's environment: no keys, a test database
def test_the_report_on_a_terminal_carries_no_escape_sequence(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    when = datetime(2026, 3, 4, 9, tzinfo=ZoneInfo("UTC"))
    repo.commit(
        "feat: \x1b]0;pwned\x07 \x1b[2J wipe \u202eexe.txt\n\n\x1b[31mred body\x1b[0m",
        when,
        {"dist/v\n<script>alert(document.domain)\n.min.js": "x\n"},
        author="Eve \x1b[5mblink",
    )
    code = main(["digest", "--repo", str(repo.path), "--date", "2026-03-04", "--tz", "UTC"])
    out, _ = capsys.readouterr()
    assert code == 0 and date(2026, 3, 4).isoformat() in out
    assert not [c for c in out if unicodedata.category(c) in ("Cc", "Cf") and c != "\n"]
    assert "<script>" not in out and "feat: \\]0;pwned \\[2J wipe exe.txt" in out
