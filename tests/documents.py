"""Digests for the rendering tests: every kind of entry, and a corpus of hostile text in each."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from bot.analyzers.rules import RulesAnalyzer
from bot.config import RulesConfig
from bot.models import (
    AnalyzerIdentity,
    Commit,
    CommitAnalysis,
    Coverage,
    DigestEntry,
    FileCoverage,
    FileState,
    Insights,
    RepoDigest,
    Severity,
    order_entries,
)
from tests.factories import change, commit

DAY = date(2026, 2, 19)
LLM = AnalyzerIdentity("llm", "triage-1+analysis-1", "model-x")
RULES = RulesAnalyzer(RulesConfig())
REPORT_URL = "https://digest.example/reports/2026-02-19/acme/app?tz=UTC&lang=en&exp=1&sig=ab"

# What a hostile commit, author or model answer may carry, one kind of attack each.
EVIL_FILE = "dist/v\n<script>alert(document.domain)\n.min.js"
HOSTILE = (
    "<script>alert(1)</script>",
    "# not a heading",
    "1. not a list",
    "> not a quote",
    "- not a bullet",
    "+ not a bullet either",
    "| not | a | table |",
    "[click](javascript:alert(1))",
    "![img](https://evil.example/x.png)",
    "**not bold** _not italic_ ~~not struck~~",
    "`not code`",
    "&amp; &lt;b&gt; &#60;script&#62;",
    "<img src=x onerror=alert(1)>",
    "<!channel> @here <@U123>",
    "terminal \x1b[31mred\x1b[0m \x1b]0;title\x07 bell\x07 csi\x9b2J",
    "bidi \u202egnp.exe\u202c and \u2066isolate\u2069",
    "pay\u200dpal zero\u200bwidth \ufeffbom",
    EVIL_FILE,
    "trailing hashes ##",
)
# Controls and bidi characters that must never reach any output.
FORBIDDEN = ("\x1b", "\x07", "\x9b", "\u202e", "\u202c", "\u2066", "\u2069", "\ufeff", "\r")

_TEXT = {
    "en": {
        "summary": "Adds an endpoint that pages through results.",
        "reason": "new public API",
        "scope": "src/api/",
        "arch": "A new layer between the router and the store.",
        "perf": "One more query per page.",
        "risk": "Clients that expect every row at once break.",
        "rec": "Document the page size.",
        "overview": "A busy day: one API change, one fix, chores.",
    },
    "zh": {
        "summary": "新增分页接口，按页返回结果。",
        "reason": "新增公开 API",
        "scope": "src/api/",
        "arch": "在路由与存储之间新增一层。",
        "perf": "每页多一次查询。",
        "risk": "期望一次拿到全部数据的客户端会出错。",
        "rec": "在文档中说明每页大小。",
        "overview": "忙碌的一天：一个 API 变更、一个修复和若干杂项。",
    },
}


def _at(hour: int) -> datetime:
    return datetime(2026, 2, 19, hour, 0, tzinfo=UTC)


def _llm(c: Commit, severity: Severity, language: str, **fields: object) -> CommitAnalysis:
    words = _TEXT[language]
    base = replace(
        RULES.analyze_now(c, language),
        analyzer=LLM,
        severity=severity,
        severity_reason=words["reason"],
        summary=words["summary"],
        impact_scope=(words["scope"],),
        risks=(words["risk"],),
        recommendations=(words["rec"],),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def _coverage() -> Coverage:
    files = (
        FileCoverage("src/api/pages.py", FileState.WHOLE),
        FileCoverage("src/api/big.py", FileState.CLIPPED, "budget"),
        FileCoverage("Cargo.lock", FileState.OMITTED, "lockfile"),
        FileCoverage("web/yarn.lock", FileState.OMITTED, "lockfile"),
        FileCoverage(EVIL_FILE, FileState.OMITTED, "vendored"),
        FileCoverage("src/api/late.py", FileState.OMITTED, "budget"),
        FileCoverage("assets/huge.json", FileState.OMITTED, "too large"),
        FileCoverage("docs/empty.md", FileState.WHOLE, "empty"),
    )
    return Coverage(files, 6000, 5900)


def _entries(language: str) -> list[DigestEntry]:
    words = _TEXT[language]
    api = commit(
        "feat(api): paging (#41)", change("src/api/pages.py", 300), sha="a1" * 20, when=_at(9)
    )
    full = _llm(
        api,
        Severity.HIGH,
        language,
        insights=Insights(architecture=words["arch"], performance=words["perf"]),
        coverage=_coverage(),
    )
    fallback_c = commit(
        "fix(core): retry (#42)", change("src/core/retry.py", 120), sha="b2" * 20, when=_at(8)
    )
    fallback = replace(
        RULES.analyze_now(fallback_c, language), severity=Severity.HIGH, fallback_reason="HTTP 502"
    )
    medium_c = commit(
        "refactor: tidy (#43)", change("src/core/tidy.py", 40), sha="c3" * 20, when=_at(7)
    )
    medium = _llm(medium_c, Severity.MEDIUM, language, risks=(), coverage=Coverage((), 6000, 10))
    low_c = commit("docs: typo (#44)", change("docs/a.md", 2), sha="d4" * 20, when=_at(6))
    low = _llm(low_c, Severity.LOW, language, risks=(), recommendations=(), impact_scope=())
    chore = commit("chore: bump (#45)", change("Cargo.lock", 900), sha="e5" * 20, when=_at(5))
    return [
        DigestEntry(api, full),
        DigestEntry(fallback_c, fallback),
        DigestEntry(medium_c, medium),
        DigestEntry(low_c, low),
        DigestEntry(chore, RULES.analyze_now(chore, language)),
        hostile_entry(language),
    ]


def hostile_entry(language: str) -> DigestEntry:
    """A commit whose message, author and model answer carry every kind of hostile text."""
    joined = " ".join(HOSTILE)
    evil = commit(
        f"feat: {HOSTILE[0]} {HOSTILE[7]} | {HOSTILE[14]} {HOSTILE[15]} #",
        change(EVIL_FILE, 10),
        sha="f6" * 20,
        body="\n".join(HOSTILE),
        when=_at(10),
        author="Mallory \u202eyrollaM\u202c <!here>",
    )
    analysis = _llm(
        evil,
        Severity.HIGH,
        language,
        severity_reason=HOSTILE[1],
        summary=joined,
        impact_scope=HOSTILE,
        insights=Insights(
            architecture=HOSTILE[6], security=HOSTILE[12], maintainability=HOSTILE[2]
        ),
        risks=HOSTILE,
        recommendations=HOSTILE,
        coverage=_coverage(),
    )
    return DigestEntry(replace(evil, url="javascript:alert(1)"), analysis)


def sample_digest(language: str) -> RepoDigest:
    """A day with every kind of entry: full model analysis, rules fallback, medium, low, rules."""
    entries = order_entries(_entries(language))
    return RepoDigest("acme/app", DAY, "UTC", language, entries, _TEXT[language]["overview"])
