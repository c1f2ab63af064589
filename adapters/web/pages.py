"""Report pages as HTML: the reference structure, every piece of commit and model text escaped."""

from __future__ import annotations

from html import escape

from bot.i18n import SEVERITY, change_type_label, text
from bot.layout import analysis_notes
from bot.models import SEVERITIES_DESC, DigestEntry, RepoDigest
from bot.report import anchor_of, commit_rows, stats_line

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


def _page(title: str, body: str, lang: str) -> str:
    return (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def _counts(digest: RepoDigest) -> str:
    return f'<p class="counts">{escape(stats_line(digest))}</p>'


def render_page(digest: RepoDigest, index_url: str | None) -> str:
    """One digest's full report; the repository links to its index when `index_url` is given."""
    lang = digest.language
    title = f"{digest.repo} — {text(lang, 'title', day=digest.day.isoformat())}"
    repo = escape(digest.repo)
    parts = [
        f"<h1>{escape(title)}</h1>",
        f'<p><a href="{escape(index_url)}">{repo}</a></p>' if index_url else f"<p>{repo}</p>",
    ]
    if not digest.entries:
        parts.append(f"<p>{escape(text(lang, 'no_commits'))}</p>")
        return _page(title, "".join(parts), lang)
    parts += [
        _commit_table(digest),
        f'<h2 id="stats">{escape(text(lang, "stats"))}</h2>',
        _counts(digest),
    ]
    if digest.overview:
        parts.append(f"<p>{escape(digest.overview)}</p>")
    parts.append(_contents(digest))
    for severity in SEVERITIES_DESC:
        group = digest.group(severity)
        if group:
            label = text(lang, f"group_{severity.value}", n=len(group))
            parts.append(f'<h2 id="{severity.value}">{escape(label)}</h2>')
            parts += [_entry(e, digest) for e in group]
    return _page(title, "".join(parts), lang)


def _commit_table(digest: RepoDigest) -> str:
    lang = digest.language
    head = "".join(
        f"<th>{escape(text(lang, k))}</th>" for k in ("col_time", "col_author", "col_title")
    )
    rows = [
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
        for row in commit_rows(digest)
    ]
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _contents(digest: RepoDigest) -> str:
    lang = digest.language
    items = [f'<li><a href="#stats">{escape(text(lang, "stats"))}</a></li>']
    for severity in SEVERITIES_DESC:
        group = digest.group(severity)
        if not group:
            continue
        label = escape(text(lang, f"group_{severity.value}", n=len(group)))
        links = "".join(
            f'<li><a href="#{anchor_of(e)}">{escape(e.commit.title)}</a></li>' for e in group
        )
        items.append(f'<li><a href="#{severity.value}">{label}</a><ul>{links}</ul></li>')
    return f"<nav><h2>{escape(text(lang, 'toc'))}</h2><ul>{''.join(items)}</ul></nav>"


def _entry(entry: DigestEntry, digest: RepoDigest) -> str:
    lang, a, commit = digest.language, entry.analysis, entry.commit
    rows = [
        (text(lang, "change_type"), change_type_label(lang, a.change_type)),
        (text(lang, "severity"), f"{SEVERITY[lang][a.severity]} — {a.severity_reason}"),
        (text(lang, "summary"), a.summary),
    ]
    body = "".join(f"<p><strong>{escape(k)}</strong>: {escape(v)}</p>" for k, v in rows)
    if a.severity.value != "low":  # as in the reference: a low entry carries its summary only
        body += _details(entry, lang)
    body += "".join(f'<p class="note">{escape(n)}</p>' for n in analysis_notes(a))
    link = ""
    if commit.url and commit.url.startswith(("https://", "http://")):
        label = escape(text(lang, "view_commit"))
        link = f' · <a href="{escape(commit.url)}" rel="noopener noreferrer">{label}</a>'
    head = f'{escape(commit.title)} <span class="sha">{escape(commit.short_sha)}</span>{link}'
    return (
        f'<details open id="{anchor_of(entry)}" class="sev-{a.severity.value}">'
        f"<summary>{SEVERITY[lang][a.severity]} {head}</summary>{body}</details>"
    )


def _details(entry: DigestEntry, lang: str) -> str:
    a = entry.analysis
    body = _listed(text(lang, "scope"), a.impact_scope)
    if a.severity.value == "high" and a.insights and a.insights.items():
        cells = "".join(
            f"<tr><th>{escape(text(lang, k))}</th><td>{escape(v)}</td></tr>"
            for k, v in a.insights.items()
        )
        body += f"<p><strong>{escape(text(lang, 'insights'))}</strong></p><table>{cells}</table>"
    body += _listed(text(lang, "risks"), a.risks)
    return body + _listed(text(lang, "recommendations"), a.recommendations)


def _listed(label: str, items: tuple[str, ...]) -> str:
    if not items:
        return ""
    rows = "".join(f"<li>{escape(item)}</li>" for item in items)
    return f"<p><strong>{escape(label)}</strong></p><ul>{rows}</ul>"


def render_index(repo: str, rows: list[tuple[RepoDigest, str]]) -> str:
    """A repository's days, newest first, with severity counts and a link to each page."""
    items = []
    for digest, url in rows:
        counts = digest.counts()
        tally = " · ".join(f"{SEVERITY['en'][s]} {counts[s]}" for s in SEVERITIES_DESC)
        label = f"{digest.day.isoformat()} ({digest.language}, {digest.tz})"
        items.append(f'<li><a href="{escape(url)}">{escape(label)}</a> — {escape(tally)}</li>')
    body = f"<h1>{escape(repo)}</h1><ul>{''.join(items) or '<li>No digests yet.</li>'}</ul>"
    return _page(repo, body, "en")
