"""The neutral document: fields per severity, reasons for what is missing, notes, counts."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import cast

import pytest

from adapters.slack.render import SlackRenderer
from adapters.web.pages import render_page
from bot.chat import EntryMessage, SummaryMessage
from bot.document import BRIEF, FIELDS, digest_document, entry_document
from bot.layout import layout, plain_text
from bot.models import (
    Coverage,
    DigestEntry,
    FileCoverage,
    FileState,
    RepoDigest,
    Report,
    Severity,
    Usage,
)
from bot.notes import coverage_note, model_line
from bot.report import render_report
from tests.documents import DAY, LLM, RULES, sample_digest
from tests.factories import change, commit


def _chat_text(message: SummaryMessage | EntryMessage) -> str:
    return "\n".join(plain_text(line) for block in layout(message) for line in block.lines)


def _by_title(digest: RepoDigest, start: str) -> DigestEntry:
    return next(e for e in digest.entries if e.commit.title.startswith(start))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_each_severity_shows_the_reference_fields(language: str) -> None:
    doc = digest_document(sample_digest(language))
    for group in doc.groups:
        for entry in group.entries:
            assert tuple(s.key for s in entry.sections) == FIELDS[group.severity]
    assert "insights" in FIELDS[Severity.HIGH] and "insights" not in FIELDS[Severity.MEDIUM]
    assert FIELDS[Severity.LOW] == ("change_type", "severity", "summary")


def test_a_rules_fallback_shows_every_field_and_says_why_one_is_empty() -> None:
    digest = sample_digest("en")
    entry = _by_title(digest, "fix(core)")
    entry = replace(entry, analysis=replace(entry.analysis, risks=()))
    digest = replace(digest, entries=(entry,))
    # A reason stored as text (before reason codes) is shown as it is.
    insight = "Not assessed: the offline rules do not judge this (HTTP 502)."
    risks = "None found by the offline rules (HTTP 502)."
    markdown = render_report(Report(DAY, "en", (digest,)))
    page = render_page(digest, "/repos/acme/app")
    chat = _chat_text(EntryMessage(digest, (entry,)))
    assert insight in markdown and risks in markdown
    assert insight in page and risks in page
    assert risks in chat and insight not in chat  # chat carries the brief fields only
    assert "Analyzed by the offline rules because the model failed: HTTP 502." in chat


def test_a_model_entry_without_risks_says_the_model_gave_none() -> None:
    for language, said in (("en", "None given by the model."), ("zh", "模型未给出。")):
        entry = _by_title(sample_digest(language), "refactor")
        sections = {s.key: s for s in entry_document(entry, language).sections}
        assert sections["risks"].missing == said and not sections["risks"].items
        assert sections["recommendations"].missing is None


def test_fallback_codes_are_said_in_words_and_anything_else_as_given() -> None:
    entry = _by_title(sample_digest("zh"), "fix(core)")
    entry = replace(entry, analysis=replace(entry.analysis, fallback_reason="timeout"))
    assert "因为模型分析失败：模型请求超时。" in entry_document(entry, "zh").notes[0]
    assert "because the model failed: the model timed out." in entry_document(entry, "en").notes[0]
    odd = replace(entry, analysis=replace(entry.analysis, fallback_reason="<b>HTTP 502</b>"))
    assert "<b>HTTP 502</b>" in entry_document(odd, "zh").notes[0]  # unknown: shown as given…
    digest = replace(sample_digest("zh"), entries=(odd,))
    assert "&lt;b&gt;HTTP 502&lt;/b&gt;" in render_page(digest, "/")  # …and escaped where shown


def _coverage(omitted: dict[str, int], clipped: int, whole: int) -> Coverage:
    files = [FileCoverage(f"w{i}.py", FileState.WHOLE) for i in range(whole)]
    files += [FileCoverage(f"c{i}.py", FileState.CLIPPED, "budget") for i in range(clipped)]
    files += [
        FileCoverage(f"{reason}{i}", FileState.OMITTED, reason)
        for reason, n in omitted.items()
        for i in range(n)
    ]
    return Coverage(tuple(files), 6000, 6000)


def test_the_coverage_note_gives_counts_and_reasons_never_a_cut_list() -> None:
    coverage = _coverage({"lockfile": 2, "budget": 1}, clipped=1, whole=7)
    assert coverage_note(coverage, "en") == (
        "ℹ️ The analysis saw part of the diff: 3 of 11 files not shown (2 lockfiles, "
        "1 over budget); 1 of 11 files clipped (1 over budget)."
    )
    assert coverage_note(coverage, "zh") == (
        "ℹ️ 分析只看到了部分差异：11 个文件中 3 个未看（锁文件 2 个、超出预算 1 个）；"
        "11 个文件中 1 个截断（超出预算 1 个）。"
    )
    many = _coverage({"vendored": 400, "too large": 1, "mystery": 2}, clipped=0, whole=1)
    note = coverage_note(many, "en")
    assert note == (
        "ℹ️ The analysis saw part of the diff: 403 of 404 files not shown "
        "(400 vendored, 2 mystery, 1 too large)."
    )
    assert "…" not in note and "vendored0" not in note


def test_an_entry_judged_without_its_diff_says_so() -> None:
    entry = _by_title(sample_digest("en"), "docs")
    assert entry.analysis.analyzer == LLM and entry.analysis.coverage is None
    notes = entry_document(entry, "en").notes
    assert notes == ("ℹ️ Judged from the commit message and file list; the diff was not read.",)
    read = replace(entry, analysis=replace(entry.analysis, coverage=Coverage((), 1, 1)))
    assert entry_document(read, "en").notes == ()


def _rules_day(fallbacks: int, total: int = 4) -> RepoDigest:
    entries = []
    for i in range(total):
        c = commit(f"fix: thing {i}", change("src/a.py", 10), sha=f"{i:x}" * 40)
        analysis = RULES.analyze_now(c, "en")
        if i < fallbacks:
            analysis = replace(analysis, fallback_reason="timeout")
        entries.append(DigestEntry(c, analysis))
    return RepoDigest("acme/app", DAY, "UTC", "en", tuple(entries))


def test_the_summary_says_when_the_model_was_unreachable_or_failed_on_some() -> None:
    unreachable = "⚠️ Model unreachable: the offline rules analyzed 4 of 4 commits."
    some = "⚠️ The model failed on 1 of 4 commits; the offline rules analyzed them."
    assert model_line(_rules_day(4)) == unreachable
    assert model_line(_rules_day(1)) == some
    assert model_line(_rules_day(0)) is None
    summary = _chat_text(SummaryMessage(_rules_day(4)))
    assert unreachable in summary
    posted = SlackRenderer().render(SummaryMessage(_rules_day(1)))
    assert some in str(posted[0].payload)
    assert some in render_page(_rules_day(1), "/")
    # The analyzer's own word (Usage.model_unreachable) wins over the count of fallbacks.
    flagged = replace(_rules_day(2), usage=cast(Usage, SimpleNamespace(model_unreachable=True)))
    assert model_line(flagged) == unreachable.replace("4 of 4", "2 of 4")


def test_the_rules_note_is_said_once_for_a_rules_day_and_per_entry_otherwise() -> None:
    rules_day = render_report(Report(DAY, "en", (_rules_day(0),)))
    assert rules_day.count("Analyzed by the offline rules (no model configured).") == 1
    mixed = render_report(Report(DAY, "en", (sample_digest("en"),)))
    assert mixed.count("Analyzed by the offline rules (no model configured).") == 1
    chore = mixed.split("#### chore: bump", 1)[1]
    assert "Analyzed by the offline rules (no model configured)." in chore


def test_chat_shows_the_brief_fields_of_an_entry() -> None:
    digest = sample_digest("en")
    entry = _by_title(digest, "feat(api)")
    text = _chat_text(EntryMessage(digest, (entry,), "https://digest.example/r"))
    doc = entry_document(entry, "en")
    shown = [s for s in doc.sections if s.key in BRIEF]
    assert [s.key for s in shown] == ["summary", "risks", "recommendations"]
    assert all((s.text or s.items[0]) in text for s in shown)
    assert "A new layer between the router and the store." not in text  # insights: the report's
    assert "https://digest.example/r#c-a1a1a1a" not in text  # the link is a span's URL…
    assert "Read in the full report" in text  # …under its label
