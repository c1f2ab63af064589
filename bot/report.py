"""The full report in Markdown, in the reference structure; one function draws every entry."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from bot.i18n import SEVERITY, change_type_label, text
from bot.models import (
    SEVERITIES_DESC,
    CommitAnalysis,
    DigestEntry,
    FileState,
    RepoDigest,
    Report,
)

# Only what can start markup mid-line: emphasis, code, links, tables, strikethrough.
_INLINE_SPECIALS = re.compile(r"([\\`*_\[\]|~])")
_TOC_TITLE = 72


def escape_inline(value: str) -> str:
    """Commit or model text as inert Markdown: no HTML, links, emphasis or headings."""
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _INLINE_SPECIALS.sub(r"\\\1", value)
    return " ".join(value.split())


def anchor_of(entry: DigestEntry) -> str:
    """The id of an entry's section; chat posts and the TOC link to it."""
    return f"c-{entry.commit.short_sha}"


def repo_anchor(repo: str) -> str:
    """The id of a repository's section."""
    return "repo-" + re.sub(r"[^a-z0-9]+", "-", repo.lower()).strip("-")


def render_report(report: Report) -> str:
    """The whole report: title, then one section per repository."""
    lang = report.language
    parts = [f"# {text(lang, 'title', day=report.day.isoformat())}"]
    analyses = [e.analysis for d in report.digests for e in d.entries]
    # Said once for the report: repeating it on each of 24 entries would only be noise.
    if any(a.analyzer.name == "rules" and not a.fallback_reason for a in analyses):
        parts.append(f"> {text(lang, 'note_rules')}")
    parts.extend(render_repo(digest) for digest in report.digests)
    return "\n\n".join(parts).rstrip() + "\n"


def render_repo(digest: RepoDigest) -> str:
    """One repository: commit table, stats line, contents, entries grouped by severity."""
    lang = digest.language
    base = repo_anchor(digest.repo)
    out = [f'<a id="{base}"></a>\n\n## {escape_inline(digest.repo)}']
    if not digest.entries:
        out.append(text(lang, "no_commits"))
        return "\n\n".join(out)
    out.append(_commit_table(digest))
    stats = stats_line(digest)
    out.append(f'<a id="{base}-stats"></a>\n\n### {text(lang, "stats")}\n\n> {stats}')
    if digest.overview:
        out.append(escape_inline(digest.overview))
    out.append(_contents(digest, base))
    for severity in SEVERITIES_DESC:
        group = digest.group(severity)
        if not group:
            continue
        label = text(lang, f"group_{severity.value}", n=len(group))
        entries = "\n\n---\n\n".join(render_entry(e, digest) for e in group)
        out.append(f'<a id="{base}-{severity.value}"></a>\n\n### {label}\n\n{entries}')
    return "\n\n".join(out)


def stats_line(digest: RepoDigest) -> str:
    """`Commits today: N | 🔴 High h | …` in the digest's language (report, chat and pages)."""
    counts = digest.counts()
    return text(
        digest.language,
        "stats_line",
        total=len(digest.entries),
        **{s.value: counts[s] for s in SEVERITIES_DESC},
    )


def commit_rows(digest: RepoDigest) -> list[tuple[str, str, str]]:
    """(time in the digest's zone, author, title) per commit, newest first, unescaped."""
    zone = ZoneInfo(digest.tz)
    newest = sorted(digest.entries, key=lambda e: e.commit.committed_at, reverse=True)
    return [
        (
            e.commit.committed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            e.commit.author,
            e.commit.title,
        )
        for e in newest
    ]


def _commit_table(digest: RepoDigest) -> str:
    lang = digest.language
    rows = [
        f"| {text(lang, 'col_time')} | {text(lang, 'col_author')} | {text(lang, 'col_title')} |",
        "|----------|------|----------|",
    ]
    rows += [
        f"| {when} | {escape_inline(author)} | {escape_inline(title)} |"
        for when, author, title in commit_rows(digest)
    ]
    return "\n".join(rows)


def _contents(digest: RepoDigest, base: str) -> str:
    lang = digest.language
    lines = [
        f"### {text(lang, 'toc')}",
        "",
        f"- [{escape_inline(digest.repo)}](#{base})",
        f"  - [{text(lang, 'stats')}](#{base}-stats)",
    ]
    for severity in SEVERITIES_DESC:
        group = digest.group(severity)
        if not group:
            continue
        label = text(lang, f"group_{severity.value}", n=len(group))
        lines.append(f"  - [{label}](#{base}-{severity.value})")
        lines.extend(f"    - [{_toc_title(e.commit.title)}](#{anchor_of(e)})" for e in group)
    return "\n".join(lines)


def _toc_title(title: str) -> str:
    short = title if len(title) <= _TOC_TITLE else title[: _TOC_TITLE - 1].rstrip() + "…"
    return escape_inline(short)


def render_entry(entry: DigestEntry, digest: RepoDigest) -> str:
    """One commit's section; low entries carry the summary only, medium ones no insights."""
    lang, analysis, commit = digest.language, entry.analysis, entry.commit
    colon = text(lang, "colon")
    sha = f"**SHA**: `{commit.short_sha}`"
    if commit.url:
        sha += f" | 🔗 [{text(lang, 'view_commit')}]({_safe_url(commit.url)})"
    lines = [
        f'<a id="{anchor_of(entry)}"></a>',
        "",
        f"#### {escape_inline(commit.title)}",
        sha,
        "",
        f"**{text(lang, 'change_type')}**{colon}{change_type_label(lang, analysis.change_type)}  ",
        f"**{text(lang, 'severity')}**{colon}{SEVERITY[lang][analysis.severity]}"
        f" — {escape_inline(analysis.severity_reason)}  ",
    ]
    low = analysis.severity.value == "low"
    summary_key = "summary_short" if low else "summary"
    lines.append(f"**{text(lang, summary_key)}**{colon}{escape_inline(analysis.summary)}")
    if not low:
        lines.extend(_details(analysis, lang, with_insights=analysis.severity.value == "high"))
    lines.extend(_notes(analysis, lang))
    return "\n".join(lines)


def _details(analysis: CommitAnalysis, lang: str, *, with_insights: bool) -> list[str]:
    colon = text(lang, "colon")
    out: list[str] = []
    if analysis.impact_scope:
        out += ["", f"**{text(lang, 'scope')}**{colon}", ""]
        out += [f"- {escape_inline(item)}" for item in analysis.impact_scope]
    if with_insights and analysis.insights and analysis.insights.items():
        out += [
            "",
            f"**{text(lang, 'insights')}**",
            "",
            f"| {text(lang, 'dimension')} | {text(lang, 'impact')} |",
            "|------|----------|",
        ]
        out += [
            f"| **{text(lang, key)}** | {escape_inline(value)} |"
            for key, value in analysis.insights.items()
        ]
    if analysis.risks:
        out += ["", f"**{text(lang, 'risks')}**", ""]
        out += [f"{i}. {escape_inline(r)}" for i, r in enumerate(analysis.risks, 1)]
    if analysis.recommendations:
        out += ["", f"**{text(lang, 'recommendations')}**", ""]
        out += [f"- {escape_inline(r)}" for r in analysis.recommendations]
    return out


def _notes(analysis: CommitAnalysis, lang: str) -> list[str]:
    notes: list[str] = []
    if analysis.fallback_reason:
        notes.append(text(lang, "note_fallback", reason=escape_inline(analysis.fallback_reason)))
    coverage = analysis.coverage
    if coverage and not coverage.complete:
        sep = text(lang, "list_sep")
        parts = []
        for state, key in (
            (FileState.CLIPPED, "part_clipped"),
            (FileState.OMITTED, "part_omitted"),
        ):
            paths = coverage.paths(state)
            if paths:
                files = sep.join(f"`{p.replace('`', '')}`" for p in paths[:8])
                files += "…" if len(paths) > 8 else ""
                parts.append(text(lang, key, files=files))
        notes.append(text(lang, "note_partial", parts="; ".join(parts)))
    return ["", *[f"> {n}" for n in notes]] if notes else []


def _safe_url(url: str) -> str:
    # Only web links; anything else (javascript:, data:) is dropped to a harmless anchor.
    if not url.startswith(("https://", "http://")):
        return "#"
    return url.replace(" ", "%20").replace(")", "%29").replace("(", "%28")
