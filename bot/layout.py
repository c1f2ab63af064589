"""Chat messages as neutral structure (blocks of lines of styled spans); adapters add markup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.chat import EntryMessage, OutgoingMessage, SummaryMessage, TextMessage
from bot.i18n import SEVERITY, change_type_label, text
from bot.models import SEVERITIES_DESC, CommitAnalysis, DigestEntry, FileState, RepoDigest
from bot.report import stats_line
from bot.sanitize import neutralize

Style = Literal["plain", "bold", "italic", "code", "link"]


@dataclass(frozen=True)
class Span:
    """A run of text in one style; a link carries its URL."""

    text: str
    style: Style = "plain"
    url: str | None = None


Line = tuple[Span, ...]


@dataclass(frozen=True)
class Block:
    """Lines that belong together (one entry, one paragraph); split only when too long alone."""

    lines: tuple[Line, ...]
    shas: tuple[str, ...] = ()


def _plain(value: str) -> Span:
    # Commit and model text: mentions defused, line breaks folded so structure stays ours.
    return Span(" ".join(neutralize(value).split()))


def _link(label: str, url: str | None) -> Line:
    return (Span(label, "link", url),) if url else ()


def layout(message: OutgoingMessage) -> list[Block]:
    """The blocks of any outgoing message."""
    if isinstance(message, SummaryMessage):
        return summary_blocks(message)
    if isinstance(message, EntryMessage):
        return entry_blocks(message)
    return text_blocks(message)


def text_blocks(message: TextMessage) -> list[Block]:
    """Plain text, one block per paragraph."""
    paragraphs = [p for p in neutralize(message.text).split("\n\n") if p.strip()] or ["…"]
    return [Block(tuple((Span(line),) for line in p.splitlines())) for p in paragraphs]


def summary_blocks(message: SummaryMessage) -> list[Block]:
    """Heading, counts, overview, high-severity titles, the report link and the analyzer note."""
    digest, lang = message.digest, message.digest.language
    stats = stats_line(digest)
    head: list[Line] = [
        (Span(digest.repo, "bold"), Span(f" — {digest.day.isoformat()}")),
        (Span(stats),),
    ]
    blocks = [Block(tuple(head))]
    if digest.overview:
        blocks.append(Block(((_plain(digest.overview),),)))
    highs = digest.group(SEVERITIES_DESC[0])
    if highs:
        lines: list[Line] = [(Span(text(lang, "group_high", n=len(highs)), "bold"),)]
        lines += [
            (Span("• "), _plain(e.commit.title), Span(" "), Span(e.commit.short_sha, "code"))
            for e in highs
        ]
        blocks.append(Block(tuple(lines)))
    tail = [
        line
        for line in (_link(text(lang, "full_report"), message.report_url), _rules_note(digest))
        if line
    ]
    if tail:
        blocks.append(Block(tuple(tail)))
    return blocks


def _rules_note(digest: RepoDigest) -> Line:
    analyses = [e.analysis for e in digest.entries]
    if analyses and all(a.analyzer.name == "rules" and not a.fallback_reason for a in analyses):
        return (Span(text(digest.language, "note_rules"), "italic"),)
    return ()


def entry_blocks(message: EntryMessage) -> list[Block]:
    """One full block per entry; several (the gathered lows) get one compact line each."""
    if len(message.entries) == 1:
        entry = message.entries[0]
        return [Block(_full_entry(entry, message), (entry.commit.sha,))]
    lang = message.digest.language
    blocks = [Block(((Span(text(lang, "more_lows", n=len(message.entries)), "bold"),),))]
    blocks += [Block((_compact_entry(e, message),), (e.commit.sha,)) for e in message.entries]
    return blocks


def _title_line(entry: DigestEntry, lang: str) -> Line:
    a = entry.analysis
    title = Span(" ".join(neutralize(entry.commit.title).split()), "bold")
    return (
        Span(f"{SEVERITY[lang][a.severity]} "),
        title,
        Span(" "),
        Span(entry.commit.short_sha, "code"),
    )


def _compact_entry(entry: DigestEntry, message: EntryMessage) -> Line:
    line = (
        *_title_line(entry, message.digest.language),
        Span(" — "),
        _plain(entry.analysis.summary),
    )
    url = message.entry_url(entry)
    return (*line, Span(" "), Span("↗", "link", url)) if url else line


def _full_entry(entry: DigestEntry, message: EntryMessage) -> tuple[Line, ...]:
    a, lang = entry.analysis, message.digest.language
    kind = change_type_label(lang, a.change_type)
    lines: list[Line] = [
        _title_line(entry, lang),
        (Span(f"{kind} · {' '.join(neutralize(entry.commit.author).split())}", "italic"),),
        (_plain(a.summary),),
    ]
    lines += _listed(text(lang, "risks"), a.risks) + _listed(
        text(lang, "recommendations"), a.recommendations
    )
    lines += [(Span(note, "italic"),) for note in analysis_notes(a)]
    link = _link(text(lang, "in_report"), message.entry_url(entry))
    return (*lines, link) if link else tuple(lines)


def _listed(label: str, items: tuple[str, ...]) -> list[Line]:
    if not items:
        return []
    return [(Span(label, "bold"),), *[(Span("• "), _plain(item)) for item in items]]


def analysis_notes(analysis: CommitAnalysis) -> list[str]:
    """The fallback and partial-diff notes of an analysis, in its language."""
    lang = analysis.language
    notes = []
    if analysis.fallback_reason:
        notes.append(text(lang, "note_fallback", reason=analysis.fallback_reason))
    coverage = analysis.coverage
    if coverage is not None and not coverage.complete:
        parts = [
            text(lang, key, files=text(lang, "files_n", n=len(coverage.paths(state))))
            for state, key in (
                (FileState.CLIPPED, "part_clipped"),
                (FileState.OMITTED, "part_omitted"),
            )
            if coverage.paths(state)
        ]
        notes.append(text(lang, "note_partial", parts="; ".join(parts)))
    return notes


def plain_text(line: Line) -> str:
    """A line without markup (for fallbacks and length counts)."""
    return "".join(span.text for span in line)
