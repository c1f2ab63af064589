"""What the document says about an analysis: why a field is empty, what was not seen, who judged.

The words of every note are here, in the report's language; `bot/document.py` places them.
"""

from __future__ import annotations

from collections import Counter

from bot.i18n import coverage_reason, fallback_reason, text
from bot.models import CommitAnalysis, Coverage, FileState, RepoDigest


def missing_reason(key: str, a: CommitAnalysis, lang: str) -> str:
    """Why a field the entry's severity shows is empty, with the model's failure if any.

    The rules never judge insights and may find no risk; a model may give none.
    """
    if a.analyzer.name != "rules":
        return text(lang, "missing_model_none")
    reason = a.fallback_reason
    cause = text(lang, "missing_cause", reason=fallback_reason(lang, reason)) if reason else ""
    which = "missing_rules_never" if key == "insights" else "missing_rules_none"
    return text(lang, which, cause=cause)


def entry_notes(a: CommitAnalysis, lang: str, *, rules_said: bool = False) -> tuple[str, ...]:
    """Why the rules stood in, what of the diff was not seen, or that it was not read at all."""
    notes = []
    if _rules_only(a) and not rules_said:
        notes.append(text(lang, "note_rules"))
    if a.fallback_reason:
        notes.append(text(lang, "note_fallback", reason=fallback_reason(lang, a.fallback_reason)))
    if a.coverage is not None and not a.coverage.complete:
        notes.append(coverage_note(a.coverage, lang))
    if a.analyzer.name != "rules" and a.coverage is None and not a.fallback_reason:
        notes.append(text(lang, "note_judged"))
    return tuple(notes)


def coverage_note(coverage: Coverage, lang: str) -> str:
    """Counts and reasons: "3 of 11 files not shown (2 lockfiles, 1 over budget)"."""
    total = len(coverage.files)
    parts = []
    for state, key in ((FileState.OMITTED, "part_omitted"), (FileState.CLIPPED, "part_clipped")):
        reasons = Counter(f.reason for f in coverage.files if f.state is state)
        if reasons:
            said = text(lang, "list_sep").join(
                coverage_reason(lang, r, n) for r, n in reasons.most_common()
            )
            parts.append(text(lang, key, n=reasons.total(), total=total, reasons=said))
    return text(lang, "note_partial", parts=text(lang, "list_sep_parts").join(parts))


def _rules_only(a: CommitAnalysis) -> bool:
    return a.analyzer.name == "rules" and not a.fallback_reason


def rules_throughout(digest: RepoDigest) -> bool:
    """True when no model was asked about any entry: the day says so once, not each entry."""
    return bool(digest.entries) and all(_rules_only(e.analysis) for e in digest.entries)


def digest_notes(digest: RepoDigest) -> tuple[str, ...]:
    """Notes about the whole day: the rules did the analysis, or the model failed on some."""
    notes = [text(digest.language, "note_rules")] if rules_throughout(digest) else []
    line = model_line(digest)
    return (*notes, line) if line else tuple(notes)


def model_line(digest: RepoDigest) -> str | None:
    """The line saying the model was unreachable, or failed on some commits; None when fine."""
    lang = digest.language
    failed = sum(1 for e in digest.entries if e.analysis.fallback_reason)
    # The analyzer is to say so in the digest's usage (`Usage.model_unreachable`); before it does,
    # a day on which every commit fell back to the rules is taken as one.
    said = getattr(digest.usage, "model_unreachable", False) is True
    total = len(digest.entries)
    if said or (failed and failed == total):
        return text(lang, "model_unreachable", n=failed, total=total)
    return text(lang, "model_partial", n=failed, total=total) if failed else None
