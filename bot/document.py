"""One neutral document per digest: fields per severity, contents, table, stats, notes, links.

Every decision about what a reader sees is taken here, once (the words of the notes in
`bot/notes.py`); the Markdown, HTML and chat renderers only write its syntax. Every string in a
document is plain, unescaped text (commit and model text with its whitespace folded): each
renderer escapes all of it for its format. A new renderer (a chat platform, a feed) is one file
of syntax over these values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo

from bot.forge import PR_REF, pull_request_url, safe_url
from bot.i18n import SEVERITY, change_type_label, text
from bot.models import (
    SEVERITIES_DESC,
    CommitAnalysis,
    DigestEntry,
    DigestSummary,
    RepoDigest,
    Report,
    Severity,
)
from bot.notes import digest_notes, entry_notes, missing_reason, rules_throughout

FieldKey = Literal[
    "change_type", "severity", "summary", "scope", "insights", "risks", "recommendations"
]
Shape = Literal["line", "bullets", "numbered", "table"]

# The reference report: a high entry shows every field, a medium one all but the insights, a
# low one its type, severity and a one-line summary.
FIELDS: dict[Severity, tuple[FieldKey, ...]] = {
    Severity.HIGH: (
        "change_type",
        "severity",
        "summary",
        "scope",
        "insights",
        "risks",
        "recommendations",
    ),
    Severity.MEDIUM: ("change_type", "severity", "summary", "scope", "risks", "recommendations"),
    Severity.LOW: ("change_type", "severity", "summary"),
}
# The compact form of an entry in chat; its title line there names the type and severity.
BRIEF: frozenset[FieldKey] = frozenset({"summary", "risks", "recommendations"})
_TOC_TITLE = 72
_NOT_ANCHOR = re.compile(r"[^0-9a-z]")


@dataclass(frozen=True)
class Table:
    """Column labels and rows of plain text."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Run:
    """A piece of plain text, linked when `url` is set (a `#N` in a title → its pull request)."""

    text: str
    url: str | None = None


@dataclass(frozen=True)
class Section:
    """One labelled field of an entry; `missing` says why it is empty, when it is."""

    key: FieldKey
    label: str
    shape: Shape
    text: str = ""
    items: tuple[str, ...] = ()
    table: Table | None = None
    missing: str | None = None

    @property
    def empty(self) -> bool:
        """True when the field has no content."""
        return not (self.text or self.items or (self.table and self.table.rows))


@dataclass(frozen=True)
class Labels:
    """The fixed words renderers place around the content, in the document's language."""

    colon: str
    view_commit: str
    full_report: str
    in_report: str


@dataclass(frozen=True)
class EntryDoc:
    """One commit's entry: its fields in order, its notes and its link."""

    anchor: str
    short_sha: str
    title: str
    author: str
    severity: Severity
    severity_label: str
    change_type: str
    summary: str
    url: str | None
    sections: tuple[Section, ...]
    notes: tuple[str, ...]
    title_runs: tuple[Run, ...] = ()

    def brief(self) -> tuple[Section, ...]:
        """The fields the compact (chat) form shows."""
        return tuple(s for s in self.sections if s.key in BRIEF)


@dataclass(frozen=True)
class Link:
    """A contents entry: a label, the anchor it points at, and what it contains."""

    label: str
    anchor: str
    children: tuple[Link, ...] = ()


@dataclass(frozen=True)
class Group:
    """The entries of one severity, under their heading."""

    severity: Severity
    label: str
    anchor: str
    entries: tuple[EntryDoc, ...]


@dataclass(frozen=True)
class DigestDoc:
    """One repository's day, everything a reader sees, in reading order."""

    repo: str
    anchor: str
    day: date
    language: str
    title: str
    labels: Labels
    commits: Table
    stats_label: str
    stats_anchor: str
    stats: str
    overview: str | None
    contents_label: str
    contents: tuple[Link, ...]
    groups: tuple[Group, ...]
    notes: tuple[str, ...]
    empty: str | None

    @property
    def highlights(self) -> Group | None:
        """The high-severity group, which a summary lists by title."""
        return next((g for g in self.groups if g.severity is Severity.HIGH), None)


@dataclass(frozen=True)
class ReportDoc:
    """The full report: its title, the notes said once, one document per repository."""

    title: str
    language: str
    notes: tuple[str, ...]
    digests: tuple[DigestDoc, ...]


@dataclass(frozen=True)
class ReplyDoc:
    """A thread reply: one entry in full, or several gathered under a heading, one line each."""

    heading: str | None
    entries: tuple[EntryDoc, ...]
    labels: Labels


def inline(value: str) -> str:
    """Commit or model text as one line: line breaks in it must not become structure."""
    return " ".join(value.split())


def anchor_of(entry: DigestEntry) -> str:
    """The id of an entry's section (`c-<sha7>`); chat posts and the contents link to it."""
    return "c-" + _NOT_ANCHOR.sub("", entry.commit.short_sha.lower())


def repo_anchor(repo: str) -> str:
    """The id of a repository's section."""
    return "repo-" + re.sub(r"[^a-z0-9]+", "-", repo.lower()).strip("-")


def title_runs(title: str, commit_url: str | None) -> tuple[Run, ...]:
    """A title in runs: each `#N` linked to its pull request where the commit is on GitHub."""
    runs: list[Run] = []
    start = 0
    for match in PR_REF.finditer(title):
        url = pull_request_url(commit_url, int(match.group(1)))
        if url is None:
            continue
        runs += [Run(title[start : match.start()]), Run(match.group(0), url)]
        start = match.end()
    return tuple(r for r in (*runs, Run(title[start:])) if r.text)


def labels_of(language: str) -> Labels:
    """The fixed words of a language."""
    return Labels(
        text(language, "colon"),
        text(language, "view_commit"),
        text(language, "full_report"),
        text(language, "in_report"),
    )


def report_document(report: Report) -> ReportDoc:
    """The document of a whole report; a note shared by several repositories is said once."""
    digests = tuple(digest_document(d) for d in report.digests)
    notes = tuple(dict.fromkeys(n for d in digests for n in d.notes))
    title = text(report.language, "title", day=report.day.isoformat())
    return ReportDoc(title, report.language, notes, digests)


def digest_document(digest: RepoDigest) -> DigestDoc:
    """The document of one repository's day."""
    lang, anchor, said = digest.language, repo_anchor(digest.repo), rules_throughout(digest)
    groups = tuple(
        Group(
            severity,
            text(lang, f"group_{severity.value}", n=len(entries)),
            f"{anchor}-{severity.value}",
            tuple(entry_document(e, lang, rules_said=said) for e in entries),
        )
        for severity in SEVERITIES_DESC
        if (entries := digest.group(severity))
    )
    stats_label = text(lang, "stats")
    return DigestDoc(
        repo=digest.repo,
        anchor=anchor,
        day=digest.day,
        language=lang,
        title=text(lang, "title", day=digest.day.isoformat()),
        labels=labels_of(lang),
        commits=commit_table(digest),
        stats_label=stats_label,
        stats_anchor=f"{anchor}-stats",
        stats=stats_line(digest),
        overview=inline(digest.overview) if digest.overview else None,
        contents_label=text(lang, "toc"),
        contents=_contents(digest.repo, anchor, stats_label, groups),
        groups=groups,
        notes=digest_notes(digest),
        empty=None if digest.entries else text(lang, "no_commits"),
    )


def reply_document(digest: RepoDigest, entries: Sequence[DigestEntry]) -> ReplyDoc:
    """A thread reply's document: several entries are gathered under a counted heading."""
    lang = digest.language
    heading = text(lang, "more_lows", n=len(entries)) if len(entries) > 1 else None
    said = rules_throughout(digest)
    docs = tuple(entry_document(e, lang, rules_said=said) for e in entries)
    return ReplyDoc(heading, docs, labels_of(lang))


def stats_line(digest: RepoDigest | DigestSummary) -> str:
    """`Commits on 2026-02-19: N | 🔴 High h | …` in the digest's language."""
    counts = digest.counts()
    return text(
        digest.language,
        "stats_line",
        day=digest.day.isoformat(),
        total=sum(counts.values()),
        **{s.value: counts[s] for s in SEVERITIES_DESC},
    )


def commit_table(digest: RepoDigest) -> Table:
    """Commit time (in the digest's zone), author and title, newest first."""
    lang, zone = digest.language, ZoneInfo(digest.tz)
    newest = sorted(digest.entries, key=lambda e: e.commit.committed_at, reverse=True)
    rows = tuple(
        (
            e.commit.committed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            inline(e.commit.author),
            inline(e.commit.title),
        )
        for e in newest
    )
    return Table(tuple(text(lang, k) for k in ("col_time", "col_author", "col_title")), rows)


def _contents(repo: str, anchor: str, stats: str, groups: tuple[Group, ...]) -> tuple[Link, ...]:
    children = [Link(stats, f"{anchor}-stats")]
    children += [
        Link(g.label, g.anchor, tuple(Link(_short(e.title), e.anchor) for e in g.entries))
        for g in groups
    ]
    return (Link(repo, anchor, tuple(children)),)


def _short(title: str) -> str:
    return title if len(title) <= _TOC_TITLE else title[: _TOC_TITLE - 1].rstrip() + "…"


def entry_document(entry: DigestEntry, language: str, *, rules_said: bool = False) -> EntryDoc:
    """One entry: the fields its severity shows, each filled or saying why not, and its notes."""
    a, commit = entry.analysis, entry.commit
    title, url = inline(commit.title), safe_url(commit.url)
    return EntryDoc(
        anchor=anchor_of(entry),
        short_sha=commit.short_sha,
        title=title,
        author=inline(commit.author),
        severity=a.severity,
        severity_label=SEVERITY[language][a.severity],
        change_type=change_type_label(language, a.change_type),
        summary=inline(a.summary),
        url=url,
        sections=tuple(_field(key, a, language) for key in FIELDS[a.severity]),
        notes=entry_notes(a, language, rules_said=rules_said),
        title_runs=title_runs(title, url),
    )


def _field(key: FieldKey, a: CommitAnalysis, lang: str) -> Section:
    section = _FIELD_BUILDERS[key](a, lang)
    return replace(section, missing=missing_reason(key, a, lang)) if section.empty else section


def _severity(a: CommitAnalysis, lang: str) -> Section:
    reason = inline(a.severity_reason)
    value = SEVERITY[lang][a.severity] + (f" — {reason}" if reason else "")
    return Section("severity", text(lang, "severity"), "line", text=value)


def _summary(a: CommitAnalysis, lang: str) -> Section:
    label = text(lang, "summary_short" if a.severity is Severity.LOW else "summary")
    return Section("summary", label, "line", text=inline(a.summary))


def _insights(a: CommitAnalysis, lang: str) -> Section:
    columns = (text(lang, "dimension"), text(lang, "impact"))
    pairs = a.insights.items() if a.insights else ()
    rows = tuple((text(lang, k), inline(v)) for k, v in pairs)
    return Section("insights", text(lang, "insights"), "table", table=Table(columns, rows))


def _listed(
    key: FieldKey, shape: Shape, values: Callable[[CommitAnalysis], tuple[str, ...]]
) -> Callable[[CommitAnalysis, str], Section]:
    def build(a: CommitAnalysis, lang: str) -> Section:
        items = tuple(i for i in (inline(v) for v in values(a)) if i)
        return Section(key, text(lang, key), shape, items=items)

    return build


_FIELD_BUILDERS: dict[FieldKey, Callable[[CommitAnalysis, str], Section]] = {
    "change_type": lambda a, lang: Section(
        "change_type", text(lang, "change_type"), "line", change_type_label(lang, a.change_type)
    ),
    "severity": _severity,
    "summary": _summary,
    "scope": _listed("scope", "bullets", lambda a: a.impact_scope),
    "insights": _insights,
    "risks": _listed("risks", "numbered", lambda a: a.risks),
    "recommendations": _listed("recommendations", "bullets", lambda a: a.recommendations),
}
