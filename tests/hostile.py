"""The hostile-input corpus: what an attacker controls, and the checks every output must pass.

File names, commit messages and author names come from any repository we read; model answers
from a model that read those; request bodies and URLs from anyone on the internet.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

from markdown_it import MarkdownIt

from bot.models import (
    AnalyzerIdentity,
    Commit,
    CommitAnalysis,
    Coverage,
    FileCoverage,
    FileState,
    Insights,
    Severity,
    Usage,
)
from bot.ports import AnalysisSink, Progress
from tests.factories import change, commit

# Realistic shapes: the redaction must hold for real tokens, not only for test words.
SECRETS = {
    "TELEGRAM_BOT_TOKEN": "7012345678:AAHs3cretTelegramTokenPart0123456789",
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-sl4ckS3cretToken0123",
    "SLACK_SIGNING_SECRET": "slack-signing-s3cret-0123456789abcdef",
    "TELEGRAM_WEBHOOK_SECRET": "telegram-webhook-s3cret-0123456789",
    "DIGEST_LINK_SECRET": "link-s3cret-0123456789abcdefghijklmnop",
    "OPENAI_API_KEY": "sk-test-0penai-key-0123456789abcdef",
    "GITHUB_TOKEN": "ghp_G1thubTokenS3cret0123456789abcdefgh",
}
TOKEN_HALF = SECRETS["TELEGRAM_BOT_TOKEN"].partition(":")[2]
ALL_SECRETS = (*SECRETS.values(), TOKEN_HALF)
MARK = "INJECTED"
_MARKDOWN = MarkdownIt("commonmark").enable("table")
_ANCHOR = re.compile(r'(<a id="[a-z0-9-]+">)?(</a>)?')
FILE_NAMES = (
    "dist/v\n<script>alert(document.domain)\n.min.js",
    "src/\x1b[2J\x07clear.py",
    "docs/evil\u202egnp.md",
    "assets/<img src=x onerror=alert(1)>.png",
    "x](javascript:alert(1)).py",
    "`rm -rf ~`.sh",
)
MESSAGES = (
    f"fix: <script>alert(1)</script>\n\n# {MARK} heading\n- {MARK} item",
    "feat: <!channel> @here <@U123|boss> [click](javascript:alert(1))",
    "chore: \x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\ \x07 bell",
    "docs: abc\u202eexe.txt \u2066isolate\u2069",
    "refactor: </details></summary><script>x</script><!--",
    f"test: *bold* _it_ ~s~ `code` ```fence``` | {MARK} | cell |",
    "perf: &amp; &lt;b&gt; &#x3C;script&#x3E; <b>bold</b>",
)
AUTHORS = ("<b>Mallory</b>", "Eve\u202eevE", "@channel", "Bob\x1b[31mRed", "<!here>")
MODEL_TEXT = (
    f"# {MARK} heading\n- {MARK} item <script>alert(2)</script> [x](javascript:alert(3)) "
    f"<!here> \x1b[2J\x07 \u202e </details> | {MARK} | cell | <img src=x onerror=alert(4)>"
)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def hostile_commits(repo: str = "acme/evil") -> list[Commit]:
    """A day of commits whose every attacker-controlled field is hostile."""
    start = datetime(2026, 2, 19, 9, tzinfo=UTC)
    return [
        commit(
            message,
            change(FILE_NAMES[i % len(FILE_NAMES)], 30 + i),
            change(FILE_NAMES[(i + 1) % len(FILE_NAMES)], 5),
            sha=f"{i:02x}" + "f" * 38,
            author=AUTHORS[i % len(AUTHORS)],
            when=start + timedelta(minutes=i),
            repo=repo,
        )
        for i, message in enumerate(MESSAGES)
    ]


class HostileAnalyzer:
    """A model that answers with markup, control characters and fake structure."""

    identity = AnalyzerIdentity("hostile-model", "v1", "evil-1")

    async def analyze_batch(
        self,
        commits: Sequence[Commit],
        language: str,
        progress: Progress | None = None,
        *,
        tz: str | None = None,
        sink: AnalysisSink | None = None,
    ) -> tuple[list[CommitAnalysis], Usage]:
        severities = (Severity.HIGH, Severity.MEDIUM, Severity.LOW)
        return [
            CommitAnalysis(
                sha=c.sha,
                change_type="fix",
                severity=severities[i % 3],
                severity_reason=MODEL_TEXT,
                summary=MODEL_TEXT,
                impact_scope=(MODEL_TEXT,),
                analyzer=self.identity,
                language=language,
                insights=Insights(MODEL_TEXT, MODEL_TEXT, MODEL_TEXT, MODEL_TEXT),
                risks=(MODEL_TEXT, MODEL_TEXT),
                recommendations=(MODEL_TEXT,),
                coverage=Coverage(
                    tuple(FileCoverage(f.path, FileState.OMITTED, "minified") for f in c.files),
                    100,
                    100,
                ),
                fallback_reason=MODEL_TEXT if i == 0 else None,
            )
            for i, c in enumerate(commits)
        ], Usage()


class HostileOverviewer:
    """The overview paragraph, as hostile as the analyses."""

    async def overview(
        self, repo: str, day: date, language: str, commits: Sequence[Commit]
    ) -> tuple[str | None, Usage]:
        return MODEL_TEXT, Usage()


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def live_html(html: str, allowed: set[str]) -> list[str]:
    """Tags outside `allowed`, event-handler attributes and non-web links in an HTML text."""
    parser = _Tags()
    parser.feed(html)
    parser.close()
    problems = [f"<{tag}>" for tag, _ in parser.tags if tag not in allowed]
    for tag, attrs in parser.tags:
        problems += [f"<{tag} {k}>" for k in attrs if k.startswith("on")]
        href = attrs.get("href") or ""
        if href and not href.startswith(("#", "/", "https://", "http://")):
            problems.append(f"<{tag} href={href!r}>")
    return problems


def live_markdown(markdown: str) -> list[str]:
    """Raw HTML (other than the report's own anchors) and structure made by hostile text.

    Parsed as CommonMark with tables, as a renderer of the report would read it.
    """
    problems: list[str] = []
    tokens = _MARKDOWN.parse(markdown)
    flat = [c for t in tokens for c in [t, *(t.children or [])]]
    for index, token in enumerate(flat):
        if "html" in token.type and not _ANCHOR.fullmatch(token.content.strip()):
            problems.append(token.content)
        if token.type == "link_open" and not str(token.attrs.get("href", "")).startswith(
            ("#", "https://", "http://")
        ):
            problems.append(str(token.attrs.get("href")))
        if token.type == "image":
            problems.append(token.content)
        following = flat[index + 1] if index + 1 < len(flat) else None
        opened = token.type in ("heading_open", "td_open", "th_open")
        if opened and following is not None and following.content.strip().startswith(MARK):
            problems.append(f"{token.type}: {following.content[:60]}")  # a heading or a cell
    return problems


def live_mrkdwn(text: str) -> list[str]:
    """Slack control sequences (mentions, links) other than links to web pages.

    `<!date^00000000^{_}|c>` is the documented way to show a formatting character literally:
    an invalid date format makes Slack print the fallback text, so it is not live markup.
    """
    return [
        m
        for m in re.findall(r"<([^>|]*)", text)
        if not m.startswith(("https://", "http://")) and m != "!date^00000000^{_}"
    ]


def control_characters(text: str) -> list[str]:
    """Terminal escapes, bells, bidi overrides and other invisible controls in an output."""
    return [repr(c) for c in CONTROL.findall(text)]


class RestoredLogging:
    """Puts the root logger, its handlers' filters and sys.excepthook back as they were."""

    def __init__(self) -> None:
        root = logging.getLogger()
        self.handlers = list(root.handlers)
        self.filters = {h: list(h.filters) for h in root.handlers}
        self.level = root.level
        self.levels = {n: logging.getLogger(n).level for n in logging.root.manager.loggerDict}
        self.hook = sys.excepthook

    def restore(self) -> None:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if handler not in self.handlers:
                root.removeHandler(handler)
        for handler, filters in self.filters.items():
            handler.filters[:] = filters
        root.setLevel(self.level)
        for name, level in self.levels.items():
            logging.getLogger(name).setLevel(level)
        sys.excepthook = self.hook


def restored_logging() -> Iterator[None]:
    """Fixture body: run a test, then undo whatever configure_logging did."""
    saved = RestoredLogging()
    yield
    saved.restore()


def leaked(text: str, secrets: Sequence[str]) -> list[str]:
    """The secrets found in a text (an empty list is what every test wants)."""
    return [s for s in secrets if s and s in text]
