"""A week's digest as a neutral document: counts per day, then the week's high-severity changes.

Like `bot/document.py` for a day: every decision about what a weekly summary shows is taken here;
renderers draw it through `bot/layout.py`. The week's entries themselves are the daily digests'
(`week_digest`), so the thread below a weekly summary shows the same analyses, reused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.i18n import SEVERITY
from bot.models import SEVERITIES_DESC, RepoDigest, Severity, order_entries

_WORDS = {
    "en": {
        "title": "week {start} – {end}",
        "stats": "Commits this week: {total} | 🔴 High {high} | 🟡 Medium {medium} | 🟢 Low {low}",
        "days": "Day by day",
        "highs": "🔴 High-severity changes this week ({n})",
        "none": "no commits",
    },
    "zh": {
        "title": "{start} 至 {end} 周报",
        "stats": "本周共 {total} 个提交 | 🔴高 {high} | 🟡中 {medium} | 🟢低 {low}",
        "days": "每日统计",
        "highs": "🔴 本周高重要度变更 ({n})",
        "none": "无提交",
    },
}
_WEEKDAY = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
}


@dataclass(frozen=True)
class DayLine:
    """One day of the week: its label, its counts in words, and its page."""

    label: str
    counts: str
    url: str | None


@dataclass(frozen=True)
class HighLine:
    """One high-severity change: its title, short SHA and the day it landed."""

    title: str
    short_sha: str
    day: str


@dataclass(frozen=True)
class WeekDoc:
    """Everything a weekly summary shows, in reading order."""

    repo: str
    title: str
    stats: str
    days_label: str
    days: tuple[DayLine, ...]
    highs_label: str | None
    highs: tuple[HighLine, ...]


def week_digest(days: Sequence[RepoDigest]) -> RepoDigest:
    """The week's entries as one digest (dated its last day): high first, newest first."""
    last = days[-1]
    entries = order_entries([e for d in days for e in d.entries])
    return RepoDigest(last.repo, last.day, last.tz, last.language, entries)


def _day_label(day: date, language: str) -> str:
    return f"{_WEEKDAY[language][day.weekday()]} {day.isoformat()}"


def _counts(digest: RepoDigest) -> str:
    if not digest.entries:
        return _WORDS[digest.language]["none"]
    counts = digest.counts()
    shown = [f"{SEVERITY[digest.language][s]} {counts[s]}" for s in SEVERITIES_DESC if counts[s]]
    return f"{len(digest.entries)} · " + " · ".join(shown)


def week_document(days: Sequence[RepoDigest], urls: Sequence[str | None]) -> WeekDoc:
    """The summary of seven daily digests (oldest first) and the links to their pages."""
    week, lang = week_digest(days), days[-1].language
    words, counts = _WORDS[lang], week_digest(days).counts()
    day_of = {e.commit.sha: d.day for d in days for e in d.entries}
    highs = tuple(
        HighLine(e.commit.title, e.commit.short_sha, _day_label(day_of[e.commit.sha], lang))
        for e in week.group(Severity.HIGH)
    )
    return WeekDoc(
        repo=week.repo,
        title=words["title"].format(start=days[0].day.isoformat(), end=days[-1].day.isoformat()),
        stats=words["stats"].format(
            total=len(week.entries), **{s.value: counts[s] for s in counts}
        ),
        days_label=words["days"],
        days=tuple(
            DayLine(_day_label(d.day, lang), _counts(d), url)
            for d, url in zip(days, urls, strict=True)
        ),
        highs_label=words["highs"].format(n=len(highs)) if highs else None,
        highs=highs,
    )
