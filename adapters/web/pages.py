"""Report pages as HTML: the neutral document's syntax, every piece of text escaped."""

from __future__ import annotations

import html

from bot.document import DigestDoc, EntryDoc, Link, Section, Table, digest_document
from bot.i18n import SEVERITY
from bot.models import SEVERITIES_DESC, DigestSummary, RepoDigest
from bot.sanitize import clean

# No script anywhere: folding is <details>, so the policy can forbid every script.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'"
_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left}
.sev-high{border-left:.35rem solid #cf222e}.sev-medium{border-left:.35rem solid #bf8700}
.sev-low{border-left:.35rem solid #1a7f37}details{margin:.75rem 0;padding:.25rem .75rem}
summary{cursor:pointer;font-weight:600}.sha{font-family:monospace}.note{color:#57606a}
.counts span{margin-right:1rem}
"""


def escape(value: str) -> str:
    """Any text as inert HTML (text or attribute value), without control or bidi characters."""
    return html.escape(clean(value), quote=True)


def _page(title: str, body: str, lang: str) -> str:
    return (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def render_page(digest: RepoDigest, index_url: str | None) -> str:
    """One digest's full report; the repository links to its index when `index_url` is given."""
    return render_document(digest_document(digest), index_url)


def render_document(doc: DigestDoc, index_url: str | None) -> str:
    """A digest document as a page."""
    title, repo = f"{doc.repo} — {doc.title}", escape(doc.repo)
    parts = [
        f"<h1>{escape(title)}</h1>",
        f'<p><a href="{escape(index_url)}">{repo}</a></p>' if index_url else f"<p>{repo}</p>",
    ]
    parts += [f'<p class="note">{escape(note)}</p>' for note in doc.notes]
    if doc.empty:
        return _page(title, "".join([*parts, f"<p>{escape(doc.empty)}</p>"]), doc.language)
    parts += [
        _table(doc.commits),
        f'<h2 id="{escape(doc.stats_anchor)}">{escape(doc.stats_label)}</h2>',
        f'<p class="counts">{escape(doc.stats)}</p>',
    ]
    if doc.overview:
        parts.append(f"<p>{escape(doc.overview)}</p>")
    parts.append(f"<nav><h2>{escape(doc.contents_label)}</h2>{_links(doc.contents)}</nav>")
    for group in doc.groups:
        parts.append(f'<h2 id="{escape(group.anchor)}">{escape(group.label)}</h2>')
        parts += [_entry(e, doc) for e in group.entries]
    return _page(title, "".join(parts), doc.language)


def _table(table: Table, head_column: bool = False) -> str:
    def row(cells: tuple[str, ...]) -> str:
        return (
            "<tr>"
            + "".join(
                f"<th>{escape(c)}</th>" if head_column and i == 0 else f"<td>{escape(c)}</td>"
                for i, c in enumerate(cells)
            )
            + "</tr>"
        )

    head = "<tr>" + "".join(f"<th>{escape(c)}</th>" for c in table.columns) + "</tr>"
    return f"<table>{head}{''.join(row(r) for r in table.rows)}</table>"


def _links(links: tuple[Link, ...]) -> str:
    items = "".join(
        f'<li><a href="#{escape(link.anchor)}">{escape(link.label)}</a>'
        + (_links(link.children) if link.children else "")
        + "</li>"
        for link in links
    )
    return f"<ul>{items}</ul>"


def _entry(entry: EntryDoc, doc: DigestDoc) -> str:
    body = "".join(_section(s, doc.labels.colon) for s in entry.sections)
    body += "".join(f'<p class="note">{escape(n)}</p>' for n in entry.notes)
    link = ""
    if entry.url:
        label = escape(doc.labels.view_commit)
        link = f' · <a href="{escape(entry.url)}" rel="noopener noreferrer">{label}</a>'
    head = f'{escape(entry.title)} <span class="sha">{escape(entry.short_sha)}</span>{link}'
    return (
        f'<details open id="{escape(entry.anchor)}" class="sev-{entry.severity.value}">'
        f"<summary>{escape(entry.severity_label)} {head}</summary>{body}</details>"
    )


def _section(section: Section, colon: str) -> str:
    label = f"<strong>{escape(section.label)}</strong>"
    if section.missing:
        return f'<p>{label}{escape(colon)}<em class="missing">{escape(section.missing)}</em></p>'
    if section.shape == "line":
        return f"<p>{label}{escape(colon)}{escape(section.text)}</p>"
    if section.shape == "table" and section.table:
        return f"<p>{label}</p>{_table(section.table, head_column=True)}"
    tag = "ol" if section.shape == "numbered" else "ul"
    items = "".join(f"<li>{escape(item)}</li>" for item in section.items)
    return f"<p>{label}</p><{tag}>{items}</{tag}>"


def render_index(repo: str, rows: list[tuple[DigestSummary, str]]) -> str:
    """A repository's days, newest first, with severity counts and a link to each page."""
    items = []
    for digest, url in rows:
        counts = digest.counts()
        tally = " · ".join(f"{SEVERITY['en'][s]} {counts[s]}" for s in SEVERITIES_DESC)
        label = f"{digest.day.isoformat()} ({digest.language}, {digest.tz})"
        items.append(f'<li><a href="{escape(url)}">{escape(label)}</a> — {escape(tally)}</li>')
    body = f"<h1>{escape(repo)}</h1><ul>{''.join(items) or '<li>No digests yet.</li>'}</ul>"
    return _page(repo, body, "en")
