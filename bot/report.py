"""The full report in Markdown, in the reference structure: the document's syntax, nothing else."""

from __future__ import annotations

import re
from urllib.parse import quote

from bot.document import (
    DigestDoc,
    EntryDoc,
    Link,
    ReportDoc,
    Section,
    Table,
    anchor_of,
    report_document,
)
from bot.models import Report
from bot.sanitize import clean

# anchor_of stays importable from here: chat posts and the JSON API link to report anchors.
__all__ = ["anchor_of", "escape_markdown", "render_markdown", "render_report"]

# What can start markup mid-line: emphasis, code, links, strikethrough, escapes. A `|` matters in
# a table row only (our own lines follow any other text), where `_cell` escapes it.
_INLINE_SPECIALS = re.compile(r"([\\`*_\[\]~])")
# What starts a block at the start of a line (inside a list item too): a heading, a list item,
# a rule, a setext underline. `>` never survives as itself: it is written as an entity.
_BLOCK_START = re.compile(r"^(?:([#+=-])|(\d{1,9})([.)]))")


def escape_markdown(value: str) -> str:
    """Any text as inert inline Markdown: no HTML, links, emphasis, headings, lists or controls."""
    value = " ".join(clean(value).split())
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _INLINE_SPECIALS.sub(r"\\\1", value)
    value = _BLOCK_START.sub(_escape_start, value)
    # A heading's closing sequence (`… #`) would be swallowed.
    trailing = value.endswith("#") and not value.endswith("\\#")
    return value[:-1] + "\\#" if trailing else value


def _escape_start(match: re.Match[str]) -> str:
    # `#`, `+`, `=`, `-` get a backslash before them; `1.` and `1)` one before the dot.
    mark, number, dot = match.groups()
    return f"\\{mark}" if mark else f"{number}\\{dot}"


def _cell(value: str) -> str:
    return escape_markdown(value).replace("|", "\\|")


def _code(value: str) -> str:
    return "`" + " ".join(clean(value).replace("`", "").split()) + "`"


def _url(value: str) -> str:
    # A link destination: no spaces, no parentheses or angle brackets that end it early.
    return quote(value, safe=":/?#@!$&'*+,;=%~-._")


def render_report(report: Report) -> str:
    """The whole report: title, notes said once, then one section per repository."""
    return render_markdown(report_document(report))


def render_markdown(doc: ReportDoc) -> str:
    """A report document as Markdown."""
    parts = [f"# {escape_markdown(doc.title)}"]
    parts += [f"> {escape_markdown(note)}" for note in doc.notes]
    parts += [render_digest(d) for d in doc.digests]
    return "\n\n".join(parts).rstrip() + "\n"


def render_digest(doc: DigestDoc) -> str:
    """One repository: commit table, stats line, contents, entries grouped by severity."""
    out = [f'<a id="{doc.anchor}"></a>\n\n## {escape_markdown(doc.repo)}']
    if doc.empty:
        return "\n\n".join([*out, escape_markdown(doc.empty)])
    out.append(_table(doc.commits))
    out.append(
        f'<a id="{doc.stats_anchor}"></a>\n\n### {escape_markdown(doc.stats_label)}\n\n'
        f"> {escape_markdown(doc.stats)}"
    )
    if doc.overview:
        out.append(escape_markdown(doc.overview))
    out.append(f"### {escape_markdown(doc.contents_label)}\n\n" + _links(doc.contents, 0))
    for group in doc.groups:
        entries = "\n\n---\n\n".join(render_entry(e, doc) for e in group.entries)
        out.append(
            f'<a id="{group.anchor}"></a>\n\n### {escape_markdown(group.label)}\n\n{entries}'
        )
    return "\n\n".join(out)


def _table(table: Table, bold_first: bool = False) -> str:
    def cell(value: str, first: bool) -> str:
        return f"**{_cell(value)}**" if first and bold_first else _cell(value)

    head = "| " + " | ".join(_cell(c) for c in table.columns) + " |"
    rule = "|" + "|".join("------" for _ in table.columns) + "|"
    rows = [
        "| " + " | ".join(cell(v, i == 0) for i, v in enumerate(row)) + " |" for row in table.rows
    ]
    return "\n".join([head, rule, *rows])


def _links(links: tuple[Link, ...], depth: int) -> str:
    lines = []
    for link in links:
        lines.append(f"{'  ' * depth}- [{escape_markdown(link.label)}](#{link.anchor})")
        if link.children:
            lines.append(_links(link.children, depth + 1))
    return "\n".join(lines)


def render_entry(entry: EntryDoc, doc: DigestDoc) -> str:
    """One commit's section: its heading, SHA and link, then each field the document gives."""
    sha = f"**SHA**: {_code(entry.short_sha)}"
    if entry.url:
        sha += f" | 🔗 [{escape_markdown(doc.labels.view_commit)}]({_url(entry.url)})"
    blocks = [f'<a id="{entry.anchor}"></a>\n\n#### {escape_markdown(entry.title)}\n{sha}']
    lines: list[str] = []  # consecutive one-line fields share a paragraph, as in the reference
    for section in entry.sections:
        if section.shape == "line" or section.missing:
            lines.append(_line(section, doc.labels.colon))
            continue
        if lines:
            blocks.append("  \n".join(lines))
            lines = []
        blocks.append(_block(section))
    if lines:
        blocks.append("  \n".join(lines))
    blocks += [f"> {escape_markdown(note)}" for note in entry.notes]
    return "\n\n".join(blocks)


def _line(section: Section, colon: str) -> str:
    label = f"**{escape_markdown(section.label)}**{colon}"
    if section.missing:
        return f"{label}*{escape_markdown(section.missing)}*"
    return label + escape_markdown(section.text)


def _block(section: Section) -> str:
    head = f"**{escape_markdown(section.label)}**\n\n"
    if section.shape == "table" and section.table:
        return head + _table(section.table, bold_first=True)
    if section.shape == "numbered":
        return head + "\n".join(
            f"{i}. {escape_markdown(item)}" for i, item in enumerate(section.items, 1)
        )
    return head + "\n".join(f"- {escape_markdown(item)}" for item in section.items)
