"""Diff budget: what a model may see of one commit, within a token budget, and what it missed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.files import FileKind, file_kind, noise_reason
from bot.models import BudgetedDiff, Commit, Coverage, FileChange, FileCoverage, FileState
from bot.tokens import estimate_tokens

_KIND_ORDER = {
    FileKind.CODE: 0,
    FileKind.TEST: 1,
    FileKind.CONFIG: 2,
    FileKind.OTHER: 3,
    FileKind.DOCS: 4,
}
_HUNK = re.compile(r"^@@ ", re.MULTILINE)
# Room kept for the file list of what was left out, so the whole prompt stays in budget.
_OMITTED_LINE_TOKENS = 16
_CLIP_NOTE = "[… later hunks left out for the budget]"
_CLIP_NOTE_TOKENS = 16


@dataclass(frozen=True)
class DiffBudget:
    """Splits a commit's patches into what fits a token budget."""

    tokens: int = 6000

    def apply(self, commit: Commit, tokens: int | None = None) -> BudgetedDiff:
        """The budgeted diff text and its coverage (code first, then tests, config, docs)."""
        budget = tokens if tokens is not None else self.tokens
        ordered = sorted(commit.files, key=lambda f: (_KIND_ORDER[file_kind(f.path)], f.path))
        noise = {f.path: noise_reason(f) for f in ordered}
        remaining = budget - _OMITTED_LINE_TOKENS * sum(1 for r in noise.values() if r)
        sections: list[str] = []
        coverage: list[FileCoverage] = []
        for change in ordered:
            reason = noise[change.path]
            if reason is not None or not change.patch:
                coverage.append(_unread(change, reason))
                continue
            header = _header(change)
            room = remaining - estimate_tokens(header)
            kept, state = _fit_patch(change.patch, room)
            if state is FileState.OMITTED:
                coverage.append(FileCoverage(change.path, FileState.OMITTED, "budget"))
                continue
            text = header + kept
            remaining -= estimate_tokens(text)
            sections.append(text)
            coverage.append(
                FileCoverage(change.path, state, None if state is FileState.WHOLE else "budget")
            )
        sections.extend(_omitted_list(coverage))
        text = "\n".join(sections)
        return BudgetedDiff(text, Coverage(tuple(coverage), budget, estimate_tokens(text)))


def _unread(change: FileChange, reason: str | None) -> FileCoverage:
    if reason is not None:
        return FileCoverage(change.path, FileState.OMITTED, reason)
    # No patch at all (a pure rename, an empty file): nothing was hidden from the model.
    return FileCoverage(change.path, FileState.WHOLE, "empty")


def _header(change: FileChange) -> str:
    moved = f" (from {change.old_path})" if change.old_path else ""
    return (
        f"--- {change.path}{moved} [{change.status.value}, "
        f"+{change.additions} -{change.deletions}]\n"
    )


def _fit_patch(patch: str, room: int) -> tuple[str, FileState]:
    """The whole patch if it fits, else the leading hunks that fit; never a partial line."""
    if estimate_tokens(patch) <= room:
        return patch, FileState.WHOLE
    starts = [m.start() for m in _HUNK.finditer(patch)] or [0]
    bounds = [*starts[1:], len(patch)]
    kept = ""
    for start, end in zip(starts, bounds, strict=True):
        hunk = patch[start:end]
        if estimate_tokens(kept + hunk) > room - _CLIP_NOTE_TOKENS:
            break
        kept += hunk
    if not kept:
        return "", FileState.OMITTED
    return kept.rstrip("\n") + f"\n{_CLIP_NOTE}\n", FileState.CLIPPED


def _omitted_list(coverage: list[FileCoverage]) -> list[str]:
    left_out = [c for c in coverage if c.state is FileState.OMITTED]
    if not left_out:
        return []
    lines = [f"- {c.path} ({c.reason})" for c in left_out]
    return ["Files changed but not shown:\n" + "\n".join(lines)]
