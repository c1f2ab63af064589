"""The full report: the reference structure, resolving links, and hostile text kept inert."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta

from bot.analyzers.rules import RulesAnalyzer
from bot.config import RulesConfig
from bot.models import (
    AnalyzerIdentity,
    Commit,
    Coverage,
    DigestEntry,
    FileCoverage,
    FileState,
    Insights,
    RepoDigest,
    Report,
    Severity,
    order_entries,
)
from bot.report import render_report
from tests.factories import change, commit

RULES = RulesAnalyzer(RulesConfig())
START = datetime(2026, 2, 19, 0, 30, tzinfo=UTC)


def digest_of(
    commits: list[Commit], language: str = "zh", repo: str = "ai-dynamo/dynamo"
) -> RepoDigest:
    entries = [DigestEntry(c, RULES.analyze_now(c, language)) for c in commits]
    return RepoDigest(repo, date(2026, 2, 19), "Asia/Shanghai", language, order_entries(entries))


def sample_commits() -> list[Commit]:
    specs = [
        ("feat(operator): add observedGeneration (#6398)", [change("deploy/operator/a.go", 40)]),
        ("feat: glm47 tool parser (#5897)", [change("lib/parsers/glm.rs", 300)]),
        ("refactor: tidy (#6355)", [change("lib/runtime/guard.rs", 20)]),
        ("fix(ci): operator CI (#6390)", [change(".github/workflows/op.yml", 10)]),
        ("ci: self-hosted runners (#6381)", [change(".github/workflows/c.yml", 10)]),
        ("docs: typo (#6351)", [change("docs/a.md", 2)]),
    ]
    return [
        commit(t, *f, sha=f"{i:x}" * 40, when=START + timedelta(hours=i))
        for i, (t, f) in enumerate(specs, 1)
    ]


def anchors_resolve(markdown: str) -> None:
    links = re.findall(r"\]\(#([^)]+)\)", markdown)
    ids = re.findall(r'<a id="([^"]+)"></a>', markdown)
    assert links, "the report has a table of contents"
    assert len(ids) == len(set(ids)), "anchor ids are unique"
    assert set(links) <= set(ids), f"unresolved: {set(links) - set(ids)}"


def test_structure_stats_and_groups_match_the_rules() -> None:
    markdown = render_report(Report(date(2026, 2, 19), "zh", (digest_of(sample_commits()),)))
    assert markdown.startswith("# 每日更新报告（2026-02-19）")
    assert "## ai-dynamo/dynamo" in markdown
    assert "> 本日共 6 个提交 | 🔴高 2 | 🟡中 2 | 🟢低 2" in markdown
    high = markdown.index("### 🔴 高重要度变更 (2)")
    medium = markdown.index("### 🟡 中重要度变更 (2)")
    low = markdown.index("### 🟢 低重要度变更 (2)")
    assert high < medium < low
    assert markdown.index("#### feat: glm47 tool parser") < medium
    assert medium < markdown.index("#### fix(ci): operator CI") < low
    assert markdown.index("#### docs: typo") > low
    # commit times are shown in the digest's zone: 01:30 UTC is 09:30 in Shanghai
    assert "| 2026-02-19 09:30:00 | Dev |" in markdown
    anchors_resolve(markdown)


def test_outline_never_skips_levels_and_separators_do_not_repeat() -> None:
    markdown = render_report(Report(date(2026, 2, 19), "en", (digest_of(sample_commits(), "en"),)))
    levels = [len(m) for m in re.findall(r"^(#+) ", markdown, re.MULTILINE)]
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels))
    assert "---\n\n---" not in markdown
    assert "Commits on 2026-02-19: 6 | 🔴 High 2 | 🟡 Medium 2 | 🟢 Low 2" in markdown


def test_depth_follows_severity() -> None:
    markdown = render_report(Report(date(2026, 2, 19), "en", (digest_of(sample_commits(), "en"),)))
    low_section = markdown.split("### 🟢 Low-severity changes", 1)[1]
    assert "**📋 Summary**" in low_section
    assert "Impact scope" not in low_section and "Potential risks" not in low_section


def _model_digest(
    severity: Severity, coverage: Coverage | None, fallback: str | None = None
) -> RepoDigest:
    c = commit("feat: model entry", change("src/a.py", 10))
    base = RULES.analyze_now(c, "en")
    analysis = type(base)(
        sha=c.sha,
        change_type="feat",
        severity=severity,
        severity_reason="new API surface",
        summary="Adds a thing.",
        impact_scope=("src/",),
        language="en",
        analyzer=AnalyzerIdentity("llm", "analysis-1", "m"),
        insights=Insights(architecture="Arch note.", security="Sec note."),
        risks=("Risk one.",),
        recommendations=("Do this.",),
        coverage=coverage,
        fallback_reason=fallback,
    )
    return RepoDigest("acme/app", date(2026, 2, 19), "UTC", "en", (DigestEntry(c, analysis),))


def test_high_entries_have_insights_medium_ones_do_not() -> None:
    high = render_report(Report(date(2026, 2, 19), "en", (_model_digest(Severity.HIGH, None),)))
    medium = render_report(Report(date(2026, 2, 19), "en", (_model_digest(Severity.MEDIUM, None),)))
    assert "| **Architecture** | Arch note. |" in high
    assert "Technical insights" not in medium and "Risk one." in medium


def test_entry_says_what_the_model_did_not_see_and_when_rules_stood_in() -> None:
    coverage = Coverage(
        (
            FileCoverage("src/a.py", FileState.CLIPPED, "budget"),
            FileCoverage("Cargo.lock", FileState.OMITTED, "lockfile"),
        ),
        100,
        90,
    )
    markdown = render_report(
        Report(date(2026, 2, 19), "en", (_model_digest(Severity.HIGH, coverage, "timed out"),))
    )
    assert (
        "The analysis saw part of the diff: 1 of 2 files not shown (1 lockfile); "
        "1 of 2 files clipped (1 over budget)." in markdown
    )
    assert "Analyzed by the offline rules because the model failed: timed out." in markdown


def test_hostile_commit_text_stays_text() -> None:
    hostile = commit(
        "feat: <script>alert(1)</script> [click](javascript:alert(1)) | x",
        change("src/a.py"),
        body="## injected heading\n<img src=x onerror=y>",
    )
    markdown = render_report(Report(date(2026, 2, 19), "en", (digest_of([hostile], "en"),)))
    assert "<script>" not in markdown and "<img" not in markdown
    assert not re.search(r"(?<!\\)\]\(javascript:", markdown)  # only an escaped \]( remains
    assert "\\[click\\](javascript:" in markdown
    assert "&lt;script&gt;" in markdown
    assert "\n## injected" not in markdown
    table_row = next(line for line in markdown.splitlines() if line.startswith("| 2026"))
    assert table_row.count(" | ") == 2  # the pipe in the title did not add a column
    anchors_resolve(markdown)


def test_several_repositories_and_an_empty_day() -> None:
    report = Report(
        date(2026, 2, 19),
        "en",
        (digest_of(sample_commits(), "en"), digest_of([], "en", repo="acme/quiet")),
    )
    markdown = render_report(report)
    assert "## ai-dynamo/dynamo" in markdown and "## acme/quiet" in markdown
    assert "No commits on this day." in markdown
    anchors_resolve(markdown)
