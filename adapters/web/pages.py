"""Report pages as HTML: the neutral document's syntax, every piece of text escaped."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from adapters.web.style import STYLE
from bot.document import DigestDoc, EntryDoc, Link, Run, Section, Table, digest_document
from bot.feedback import Disagreement, Tally
from bot.i18n import SEVERITY
from bot.models import SEVERITIES_DESC, DigestSummary, RepoDigest, Severity
from bot.sanitize import clean

# No script anywhere: folding is <details>, the chart is inline SVG markup (not an image
# load), so the policy can forbid every script and every other origin.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'"
CHART_DAYS = 31  # the newest days a repository's chart shows


def escape(value: str) -> str:
    """Any text as inert HTML (text or attribute value), without control or bidi characters."""
    return html.escape(clean(value), quote=True)


def _page(title: str, body: str, lang: str) -> str:
    return (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def render_page(
    digest: RepoDigest, index_url: str | None, votes: Mapping[str, Tally] | None = None
) -> str:
    """One digest's full report; the repository links to its index when `index_url` is given.

    `votes` (by full SHA) shows each entry's 👍/👎 count beside its title.
    """
    by_short = {
        e.commit.short_sha: votes[e.commit.sha]
        for e in digest.entries
        if votes and e.commit.sha in votes
    }
    return render_document(digest_document(digest), index_url, by_short)


def render_document(
    doc: DigestDoc, index_url: str | None, votes: Mapping[str, Tally] | None = None
) -> str:
    """A digest document as a page; `votes` by short SHA."""
    title, repo = f"{doc.repo} — {doc.title}", escape(doc.repo)
    parts = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="repo"><a href="{escape(index_url)}">{repo}</a></p>'
        if index_url
        else f'<p class="repo">{repo}</p>',
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
        parts += [_entry(e, doc, (votes or {}).get(e.short_sha)) for e in group.entries]
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
    return f'<div class="table"><table>{head}{"".join(row(r) for r in table.rows)}</table></div>'


def _links(links: tuple[Link, ...]) -> str:
    items = "".join(
        f'<li><a href="#{escape(link.anchor)}">{escape(link.label)}</a>'
        + (_links(link.children) if link.children else "")
        + "</li>"
        for link in links
    )
    return f"<ul>{items}</ul>"


def _entry(entry: EntryDoc, doc: DigestDoc, tally: Tally | None = None) -> str:
    body = "".join(_section(s, doc.labels.colon) for s in entry.sections)
    body += "".join(f'<p class="note">{escape(n)}</p>' for n in entry.notes)
    link = ""
    if entry.url:
        label = escape(doc.labels.view_commit)
        link = f" · {_a(entry.url, label)}"
    runs = entry.title_runs or (Run(entry.title),)
    title = "".join(_a(r.url, escape(r.text)) if r.url else escape(r.text) for r in runs)
    head = f'{title} <span class="sha">{escape(entry.short_sha)}</span>{link}'
    if tally is not None:
        head += f' <span class="note votes">👍 {tally.up} · 👎 {tally.down}</span>'
    return (
        f'<details open id="{escape(entry.anchor)}" class="sev-{entry.severity.value}">'
        f"<summary>{escape(entry.severity_label)} {head}</summary>{body}</details>"
    )


def _a(url: str, label: str) -> str:
    """A link to another site (a commit, a pull request): no referrer, no opener."""
    return f'<a href="{escape(url)}" rel="noopener noreferrer">{label}</a>'


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


def render_index(
    repo: str, rows: list[tuple[DigestSummary, str]], disagreements_url: str | None = None
) -> str:
    """A repository's days, newest first: a chart of severities per day, then a link to each."""
    items = []
    for digest, url in rows:
        counts = digest.counts()
        tally = " · ".join(
            f'<span class="tally-{s.value}">{escape(SEVERITY["en"][s])} {counts[s]}</span>'
            for s in SEVERITIES_DESC
        )
        label = f"{digest.day.isoformat()} ({digest.language}, {digest.tz})"
        items.append(f'<li><a href="{escape(url)}">{escape(label)}</a> — {tally}</li>')
    chart = severity_chart(repo, day_counts([d for d, _ in rows])) if rows else ""
    listed = "".join(items) or "<li>No digests yet.</li>"
    body = f'<h1>{escape(repo)}</h1>{chart}<h2>Days</h2><ul class="days">{listed}</ul>'
    if disagreements_url:
        body += f'<p><a href="{escape(disagreements_url)}">Severity disagreements</a></p>'
    return _page(repo, body, "en")


def render_disagreements(repo: str, rows: Sequence[tuple[Disagreement, str]]) -> str:
    """The commits whose analysis people voted 👎 on, most disputed first, each linked."""
    head = "<tr><th>Day</th><th>Commit</th><th>Severity given</th><th>👍</th><th>👎</th></tr>"
    cells = [
        f"<tr><td>{escape(d.day.isoformat())}</td>"
        f'<td><a href="{escape(url)}#{escape(d.anchor)}">{escape(d.title)}</a> '
        f'<span class="sha">{escape(d.sha[:7])}</span></td>'
        f"<td>{escape(SEVERITY['en'][d.severity])}</td><td>{d.tally.up}</td><td>{d.tally.down}</td></tr>"
        for d, url in rows
    ]
    table = f"<table>{head}{''.join(cells)}</table>" if cells else "<p>No disagreements yet.</p>"
    title = f"{repo} — severity disagreements"
    intro = "<p>Analyses people voted 👎 on, the most disputed first.</p>"
    return _page(title, f"<h1>{escape(title)}</h1>{intro}{table}", "en")


@dataclass(frozen=True)
class DayCounts:
    """One calendar day's commits by severity, for the chart; None when it was not digested."""

    day: date
    counts: dict[Severity, int] | None

    @property
    def total(self) -> int:
        """Commits that day."""
        return sum(self.counts.values()) if self.counts else 0

    def said(self) -> str:
        """The day's counts in words (a tooltip, the chart's description)."""
        counts = self.counts or {}
        return f"{self.day.isoformat()}: " + ", ".join(
            f"{counts.get(s, 0)} {s.value}" for s in _STACK
        )


def day_counts(digests: Sequence[DigestSummary], days: int = CHART_DAYS) -> list[DayCounts]:
    """Every calendar day of the newest `days` up to the newest digest, oldest first.

    A day digested in several zones or languages counts once; a day without a digest is a gap.
    """
    seen: dict[date, dict[Severity, int]] = {}
    for digest in digests:
        seen.setdefault(digest.day, digest.counts())
    if not seen:
        return []
    newest = max(seen)
    first = max(min(seen), newest - timedelta(days=days - 1))
    span = (newest - first).days + 1
    return [DayCounts(d, seen.get(d)) for d in (first + timedelta(days=n) for n in range(span))]


# Bars are stacked high at the bottom (what matters most sits on the axis), then medium, low.
_STACK = (Severity.HIGH, Severity.MEDIUM, Severity.LOW)
_BAR, _GAP, _LEFT, _TOP, _PLOT, _BOTTOM = 16, 8, 30, 8, 96, 22


def severity_chart(repo: str, days: Sequence[DayCounts]) -> str:
    """Stacked bars of severities per day as inline SVG, with a title, a description, a key."""
    peak = max((d.total for d in days), default=0) or 1
    width = _LEFT + len(days) * (_BAR + _GAP) + _GAP
    height = _TOP + _PLOT + _BOTTOM
    base = _TOP + _PLOT
    said = "; ".join(d.said() for d in days if d.counts is not None)
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="chart-title chart-desc" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(f"Severities per day: {repo}")}</title>',
        f'<desc id="chart-desc">{escape(said)}</desc>',
        f'<line class="axis" x1="{_LEFT - 4}" y1="{base}" x2="{width}" y2="{base}"/>',
        f'<text x="{_LEFT - 8}" y="{_TOP + 8}" text-anchor="end">{peak}</text>',
        f'<text x="{_LEFT - 8}" y="{base}" text-anchor="end">0</text>',
    ]
    for index, day in enumerate(days):
        x = _LEFT + _GAP + index * (_BAR + _GAP)
        back = len(days) - 1 - index  # dated every 7 days back from the newest, and the first
        parts.append(_bar(day, x, base, peak, label=back % 7 == 0 or (index == 0 and back % 7 > 2)))
    parts.append("</svg>")
    key = "".join(
        f'<li><span class="key key-{s.value}"></span>{s.value.capitalize()}</li>' for s in _STACK
    )
    caption = f'<figcaption><ul class="legend">{key}</ul></figcaption>'
    return f"<figure>{''.join(parts)}{caption}</figure>"


def _bar(day: DayCounts, x: int, base: int, peak: int, *, label: bool) -> str:
    """One day's stacked bar, its counts in a tooltip; its date under it when `label`."""
    rects, top = [], float(base)
    for severity in _STACK:
        size = (day.counts or {}).get(severity, 0) * _PLOT / peak
        if size:
            top -= size
            rects.append(
                f'<rect class="bar-{severity.value}" x="{x}" y="{top:.1f}" '
                f'width="{_BAR}" height="{size:.1f}"/>'
            )
    text = (
        f'<text x="{x + _BAR / 2:.0f}" y="{base + 15}" text-anchor="middle">'
        f"{escape(day.day.strftime('%m-%d'))}</text>"
        if label
        else ""
    )
    if day.counts is None:  # not digested: a gap, and its date where one is due
        return text
    return f"<g><title>{escape(day.said())}</title>{''.join(rects)}{text}</g>"
