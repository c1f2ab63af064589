"""Diff budget: what a model may see of one commit, within a token budget, and what it missed.

Noise (lockfiles, generated, vendored, binary, snapshots, data, cassettes) and patches too
large to have been read are listed, never shown. The rest shares the budget by kind (code,
then tests, config, other, docs), fairly within a kind: every file gets an equal share, a
small file gives back what it does not need. A file over its share is clipped inside a hunk
at a line boundary. A patch repeated across files is shown once. For an analysis prompt
(`compact`) hunks keep fewer unchanged lines (bot.hunks) and a deleted file is given by its
line count. Every file's coverage says why it was not seen whole.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.files import FileKind, file_kind, noise_reason
from bot.hunks import trim_context
from bot.models import (
    BudgetedDiff,
    Commit,
    Coverage,
    FileChange,
    FileCoverage,
    FileState,
    FileStatus,
)
from bot.tokens import estimate_tokens

# Coverage reasons besides the noise kinds of bot.files.noise_reason.
BUDGET = "budget"
TOO_LARGE = "too large"
UNAVAILABLE = "unavailable"
EMPTY = "empty"
# A deleted file in an analysis prompt: its line count, not every removed line.
DELETED = "deleted"

_KIND_ORDER = (FileKind.CODE, FileKind.TEST, FileKind.CONFIG, FileKind.OTHER, FileKind.DOCS)
# Room kept for the list of what was left out, so the whole prompt stays in budget.
_LISTED = 30
_LISTED_LINE_TOKENS = 16
# Per-line estimates add up to a little more or less than the whole text's: keep a margin.
_MARGIN = 0.03
# A share too small to show a hunk header and a few lines is not worth showing.
_MIN_SHARE = 48
_CLIP_NOTE = "[… {n} more lines of this file left out: {reason}]"
_CLIP_NOTE_TOKENS = 16
_DELETED = "[file deleted: its {n} lines are not shown]"
_SAME = "[the same patch as {path}]"
# Unchanged lines an analysis prompt keeps before and after each change: the lines before
# carry the condition or signature a change sits under; the ones after mostly close it.
_CONTEXT = (2, 1)


@dataclass(frozen=True)
class _Readable:
    change: FileChange
    header: str
    patch: str
    cost: int


@dataclass(frozen=True)
class _Plan:
    """A commit's files sorted out: coverage known so far, fixed texts, files sharing the room."""

    coverage: dict[str, FileCoverage]
    fixed: dict[str, str]
    readable: list[_Readable]
    same_as: dict[str, str]


@dataclass(frozen=True)
class DiffBudget:
    """Splits a commit's patches into what fits a token budget."""

    tokens: int = 6000

    def apply(
        self, commit: Commit, tokens: int | None = None, *, compact: bool = False
    ) -> BudgetedDiff:
        """The budgeted diff text and its coverage, in the order code, tests, config, docs.

        `compact` (analysis prompts): fewer unchanged lines around changes, deleted files by
        their line count.
        """
        budget = tokens if tokens is not None else self.tokens
        ordered = sorted(commit.files, key=lambda f: (_KIND_ORDER.index(file_kind(f.path)), f.path))
        plan = _plan(ordered, compact)
        listing = _LISTED_LINE_TOKENS * (min(len(ordered), _LISTED) + 1)
        room = int(budget * (1 - _MARGIN)) - listing
        room -= sum(estimate_tokens(r.header) for r in plan.readable)
        room -= sum(estimate_tokens(t) for t in plan.fixed.values())
        shares = _shares(plan.readable, room)
        shown = {}
        for item in plan.readable:
            shown[item.change.path], plan.coverage[item.change.path] = _show(
                item, shares[item.change.path]
            )
        for path, original in plan.same_as.items():
            # A repeated patch was seen exactly as much as the one it repeats.
            plan.coverage[path] = replace(plan.coverage[original], path=path)
        sections = [shown.get(f.path) or plan.fixed.get(f.path, "") for f in ordered]
        files = tuple(plan.coverage[f.path] for f in ordered)
        text = "\n".join([s for s in sections if s] + _not_shown(files))
        return BudgetedDiff(text, Coverage(files, budget, estimate_tokens(text)))


def _plan(ordered: list[FileChange], compact: bool) -> _Plan:
    """Files not shown, deleted files (compact), repeats of an earlier patch, and the rest."""
    plan = _Plan({}, {}, [], {})
    first_with: dict[str, str] = {}
    for change in ordered:
        unread = _unread(change)
        if unread is not None:
            plan.coverage[change.path] = unread
        elif compact and change.status is FileStatus.REMOVED:
            plan.fixed[change.path] = _header(change) + _DELETED.format(n=change.deletions)
            plan.coverage[change.path] = FileCoverage(change.path, FileState.CLIPPED, DELETED)
        elif change.patch in first_with:
            # The same patch in several files (one edit applied across them): shown once.
            plan.same_as[change.path] = first_with[change.patch or ""]
            plan.fixed[change.path] = _header(change) + _SAME.format(path=plan.same_as[change.path])
        else:
            first_with[change.patch or ""] = change.path
            patch = trim_context(change.patch or "", *_CONTEXT) if compact else change.patch or ""
            plan.readable.append(_Readable(change, _header(change), patch, estimate_tokens(patch)))
    return plan


def _unread(change: FileChange) -> FileCoverage | None:
    """Coverage of a file whose patch is not shown at all, or None when it can be read."""
    reason = noise_reason(change)
    if reason is not None:
        return FileCoverage(change.path, FileState.OMITTED, reason)
    if change.patch is None and (change.patch_truncated or change.changes > 0):
        # GitHub leaves out the patch of a very large diff: the model cannot have seen it.
        return FileCoverage(change.path, FileState.OMITTED, TOO_LARGE)
    if not change.patch:
        if change.changes > 0:
            return FileCoverage(change.path, FileState.OMITTED, UNAVAILABLE)
        # No patch and no lines (a pure rename, an empty file): nothing was hidden.
        return FileCoverage(change.path, FileState.WHOLE, EMPTY)
    return None


def _shares(files: list[_Readable], room: int) -> dict[str, int]:
    """Tokens per file: kinds in order, an equal share within a kind, surplus passed on."""
    shares = {f.change.path: 0 for f in files}
    for kind in _KIND_ORDER:
        tier = sorted((f for f in files if file_kind(f.change.path) is kind), key=lambda f: f.cost)
        for i, item in enumerate(tier):
            fair = room // (len(tier) - i) if room > 0 else 0
            if fair < _MIN_SHARE and item.cost > fair:
                # Too little for everyone: the smallest files first, each a usable share.
                fair = _MIN_SHARE if room >= _MIN_SHARE else 0
            share = min(item.cost, fair)
            shares[item.change.path] = share
            room -= share
    return shares


def _show(item: _Readable, share: int) -> tuple[str, FileCoverage]:
    change = item.change
    patch = item.patch
    reason = TOO_LARGE if change.patch_truncated else BUDGET
    if share >= item.cost:
        state = FileState.CLIPPED if change.patch_truncated else FileState.WHOLE
        return item.header + patch, FileCoverage(
            change.path, state, TOO_LARGE if change.patch_truncated else None
        )
    kept, left = _clip(patch, share - _CLIP_NOTE_TOKENS)
    if not kept:
        return "", FileCoverage(change.path, FileState.OMITTED, BUDGET)
    note = _CLIP_NOTE.format(n=left, reason=reason)
    return f"{item.header}{kept}\n{note}", FileCoverage(change.path, FileState.CLIPPED, reason)


def _clip(patch: str, room: int) -> tuple[str, int]:
    """The leading whole lines that fit (inside a hunk if need be) and how many were left."""
    lines = patch.split("\n")
    used = 0
    kept = 0
    for line in lines:
        cost = estimate_tokens(line) + 1
        if used + cost > room:
            break
        used += cost
        kept += 1
    # A hunk header alone shows nothing of the change.
    if kept == 0 or (kept == 1 and lines[0].startswith("@@")):
        return "", len(lines)
    return "\n".join(lines[:kept]), len(lines) - kept


def _header(change: FileChange) -> str:
    moved = f" (from {change.old_path})" if change.old_path else ""
    return (
        f"--- {change.path}{moved} [{change.status.value}, "
        f"+{change.additions} -{change.deletions}]\n"
    )


def _not_shown(files: tuple[FileCoverage, ...]) -> list[str]:
    left_out = [c for c in files if c.state is FileState.OMITTED]
    if not left_out:
        return []
    lines = [f"- {c.path} ({c.reason})" for c in left_out[:_LISTED]]
    rest = left_out[_LISTED:]
    if rest:
        counts: dict[str, int] = {}
        for c in rest:
            counts[c.reason or BUDGET] = counts.get(c.reason or BUDGET, 0) + 1
        lines.append(f"- and {len(rest)} more: " + ", ".join(f"{n} {r}" for r, n in counts.items()))
    return ["Files changed but not shown:\n" + "\n".join(lines)]
