"""Chat messages as neutral structure (blocks of lines of styled spans); adapters add markup.

The arrangement of a document's parts into chat blocks, and the splitting of text that is too
long for one message; what each entry shows is the document's (`bot/document.py`) decision.
Span text is plain and unescaped: each platform's renderer escapes it with its one function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bot.actions import Action, entry_actions
from bot.chat import (
    CodeMessage,
    EntryMessage,
    OutgoingMessage,
    SummaryMessage,
    TextMessage,
    WeeklySummaryMessage,
)
from bot.document import EntryDoc, Labels, Run, Section, digest_document, reply_document
from bot.week_document import week_document

Style = Literal["plain", "bold", "italic", "code", "link", "pre"]
# Where long text may break, coarsest first: paragraphs, lines, words.
_BREAKS = ("\n\n", "\n", " ")
# A code block's most characters, counted as every platform could: UTF-16 units (Telegram), and
# `& < >` as entities (Slack writes `&amp;`): within Slack's 3,000 a section with its fences, and
# Telegram's 4,096 a message.
CODE_CHUNK = 2900


@dataclass(frozen=True)
class Span:
    """A run of text in one style; a span with a URL is a link (a bold one in a title)."""

    text: str
    style: Style = "plain"
    url: str | None = None


Line = tuple[Span, ...]


@dataclass(frozen=True)
class Block:
    """Lines that belong together (one entry, one paragraph); split only when too long alone."""

    lines: tuple[Line, ...]
    shas: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()  # buttons drawn after the block (an entry's four)


def _link(label: str, url: str | None) -> Line:
    return (Span(label, "link", url),) if url else ()


def layout(message: OutgoingMessage) -> list[Block]:
    """The blocks of any outgoing message."""
    if isinstance(message, WeeklySummaryMessage):
        return weekly_blocks(message)
    if isinstance(message, SummaryMessage):
        return summary_blocks(message)
    if isinstance(message, EntryMessage):
        return entry_blocks(message)
    if isinstance(message, CodeMessage):
        return code_blocks(message)
    return text_blocks(message)


def _code_width(value: str) -> int:
    units = len(value.encode("utf-16-le")) // 2
    return units + 4 * sum(value.count(c) for c in "&<>")


def code_blocks(message: CodeMessage) -> list[Block]:
    """Preformatted text as code blocks of at most CODE_CHUNK, broken at blank lines, then lines."""
    chunks = split_text(message.code or " ", CODE_CHUNK, _code_width)
    return [Block(((Span(chunk, "pre"),),)) for chunk in chunks]


def text_blocks(message: TextMessage) -> list[Block]:
    """Plain text, one block per paragraph, every line of it kept."""
    paragraphs = [p for p in message.text.split("\n\n") if p.strip()] or ["…"]
    return [Block(tuple((Span(line),) for line in p.splitlines())) for p in paragraphs]


def summary_blocks(message: SummaryMessage) -> list[Block]:
    """Heading, counts, overview, high-severity titles, the report link and the notes."""
    doc = digest_document(message.digest)
    head: list[Line] = [
        (Span(doc.repo, "bold"), Span(f" — {doc.day.isoformat()}")),
        (Span(doc.stats),),
    ]
    blocks = [Block(tuple(head))]
    if doc.overview:
        blocks.append(Block(((Span(doc.overview),),)))
    highs = doc.highlights
    if highs:
        lines: list[Line] = [(Span(highs.label, "bold"),)]
        lines += [(Span("• "), *_title(e, "plain"), Span(" "), _sha(e)) for e in highs.entries]
        blocks.append(Block(tuple(lines)))
    tail = [_link(doc.labels.full_report, message.report_url)]
    tail += [(Span(note, "italic"),) for note in doc.notes]
    if any(tail):
        blocks.append(Block(tuple(line for line in tail if line)))
    return blocks


def weekly_blocks(message: WeeklySummaryMessage) -> list[Block]:
    """Heading and counts, one line per day (linked to its page), the week's high changes."""
    doc = week_document(message.days, message.day_urls)
    head: list[Line] = [(Span(doc.repo, "bold"), Span(f" — {doc.title}")), (Span(doc.stats),)]
    days: list[Line] = [(Span(doc.days_label, "bold"),)]
    days += [
        (
            Span(f"{d.label}: "),
            Span(d.counts),
            *((Span(" "), Span("↗", "link", d.url)) if d.url else ()),
        )
        for d in doc.days
    ]
    blocks = [Block(tuple(head)), Block(tuple(days))]
    if doc.highs_label:
        highs: list[Line] = [(Span(doc.highs_label, "bold"),)]
        highs += [
            (Span("• "), Span(h.title), Span(" "), Span(h.short_sha, "code"), Span(f" ({h.day})"))
            for h in doc.highs
        ]
        blocks.append(Block(tuple(highs)))
    return blocks


def entry_blocks(message: EntryMessage) -> list[Block]:
    """One full block per entry; several (the gathered lows) get one compact line each.

    Every entry's block carries its buttons (Explain more, Show diff, 👍, 👎).
    """
    doc = reply_document(message.digest, message.entries)
    shas = [e.commit.sha for e in message.entries]
    urls = [message.entry_url(e) for e in message.entries]
    lang = message.digest.language
    acts = [entry_actions(sha, e.short_sha, lang) for sha, e in zip(shas, doc.entries, strict=True)]
    if doc.heading is None:
        return [Block(_full_entry(doc.entries[0], doc.labels, urls[0]), (shas[0],), acts[0])]
    blocks = [Block(((Span(doc.heading, "bold"),),))]
    blocks += [
        Block((_compact_entry(e, url),), (sha,), act)
        for e, url, sha, act in zip(doc.entries, urls, shas, acts, strict=True)
    ]
    return blocks


def _title(entry: EntryDoc, style: Style) -> Line:
    """The title in `style`, each `#N` the document linked to its pull request a link."""
    runs = entry.title_runs or (Run(entry.title),)
    return tuple(Span(r.text, style, r.url) for r in runs)


def _sha(entry: EntryDoc) -> Span:
    """The short SHA, linked to its commit where the commit has a page."""
    return Span(entry.short_sha, "link", entry.url) if entry.url else Span(entry.short_sha, "code")


def _title_line(entry: EntryDoc) -> Line:
    return (Span(f"{entry.severity_label} "), *_title(entry, "bold"), Span(" "), _sha(entry))


def _compact_entry(entry: EntryDoc, url: str | None) -> Line:
    line = (*_title_line(entry), Span(" — "), Span(entry.summary))
    return (*line, Span(" "), Span("↗", "link", url)) if url else line


def _full_entry(entry: EntryDoc, labels: Labels, url: str | None) -> tuple[Line, ...]:
    lines: list[Line] = [
        _title_line(entry),
        (Span(f"{entry.change_type} · {entry.author}", "italic"),),
    ]
    for section in entry.brief():
        lines += _section_lines(section, labels)
    lines += [(Span(note, "italic"),) for note in entry.notes]
    link = _link(labels.in_report, url)
    return (*lines, link) if link else tuple(lines)


def _section_lines(section: Section, labels: Labels) -> list[Line]:
    if section.missing:
        return [(Span(section.label, "bold"), Span(labels.colon), Span(section.missing, "italic"))]
    if section.key == "summary":  # the entry's body, right under its title: no label needed
        return [(Span(section.text),)]
    if section.shape == "line":
        return [(Span(section.label, "bold"), Span(labels.colon), Span(section.text))]
    rows = section.table.rows if section.table else ()
    items = [*section.items, *(f"{k}: {v}" for k, v in rows)]
    return [(Span(section.label, "bold"),), *[(Span("• "), Span(item)) for item in items]]


def plain_text(line: Line) -> str:
    """A line without markup (for fallbacks and length counts)."""
    return "".join(span.text for span in line)


def split_text(value: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """`value` in pieces that each measure at most `limit`; nothing is dropped.

    Broken at paragraphs, then lines, then words, and inside a word only when it alone is longer;
    only the whitespace at a break is lost. `measure` must be a sum over characters (len, UTF-16
    units, …).
    """
    return _split(value, limit, measure, 0)


def _split(value: str, limit: int, measure: Callable[[str], int], level: int) -> list[str]:
    if measure(value) <= limit:
        return [value]
    if level == len(_BREAKS):
        return _split_chars(value, limit, measure)
    sep, chunks, current = _BREAKS[level], [], ""
    for piece in value.split(sep):
        joined = f"{current}{sep}{piece}" if current else piece
        if measure(joined) <= limit:
            current = joined
            continue
        if current:
            chunks.append(current)
        *done, current = _split(piece, limit, measure, level + 1) or [""]
        chunks += done
    return [c for c in (*chunks, current) if c.strip()]


def _split_chars(value: str, limit: int, measure: Callable[[str], int]) -> list[str]:
    chunks, start, size = [], 0, 0
    for i, char in enumerate(value):
        width = measure(char)
        if size + width > limit and i > start:
            chunks.append(value[start:i])
            start, size = i, 0
        size += width
    return [*chunks, value[start:]]
