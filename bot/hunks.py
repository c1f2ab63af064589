"""Unified-diff hunks re-cut for a model: fewer unchanged lines around each change.

Git shows three unchanged lines on each side of a change; a model summarizing a commit needs
the nearest ones to place it, and the hunk header says where it is. Every added and removed
line is kept; a run of unchanged lines longer than the context on both sides splits the hunk
in two, with headers whose line numbers still match the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")


@dataclass(frozen=True)
class _Line:
    text: str
    old: int  # the line's number in the old file (or where it would be)
    new: int


def trim_context(patch: str, before: int, after: int) -> str:
    """The patch with at most `before`/`after` unchanged lines around each change, else as given."""
    out: list[str] = []
    hunk: list[_Line] = []
    old = new = -1
    suffix = ""
    for text in patch.split("\n"):
        match = _HEADER.match(text)
        if match:
            out += _recut(hunk, (before, after), suffix)
            hunk, old, new, suffix = (
                [],
                _first(match[1], match[2]),
                _first(match[3], match[4]),
                match[5],
            )
            continue
        if old < 0:
            return patch  # text before the first hunk header: not a patch we know
        hunk.append(_Line(text, old, new))
        old += text[:1] != "+" and not text.startswith("\\")
        new += text[:1] != "-" and not text.startswith("\\")
    return "\n".join(out + _recut(hunk, (before, after), suffix))


def _first(start: str, count: str | None) -> int:
    """The number of a hunk side's first line; an empty side names the line before it."""
    return int(start) + (count == "0")


def _recut(hunk: list[_Line], keep: tuple[int, int], suffix: str) -> list[str]:
    """The hunk's kept lines, one header per run of kept lines."""
    changed = [i for i, line in enumerate(hunk) if line.text[:1] in ("+", "-")]
    if not changed:
        return []
    wanted: set[int] = set()
    for i in changed:
        wanted.update(range(max(0, i - keep[0]), min(len(hunk), i + keep[1] + 1)))
    for i, line in enumerate(hunk):
        if line.text.startswith("\\") and i - 1 in wanted:
            wanted.add(i)  # "\ No newline at end of file" belongs to the line before it
    out: list[str] = []
    run: list[_Line] = []
    for i, line in enumerate(hunk):
        if i in wanted:
            run.append(line)
        elif run:
            out += _run(run, "" if out else suffix)
            run = []
    return out + (_run(run, "" if out else suffix) if run else [])


def _run(run: list[_Line], suffix: str) -> list[str]:
    """A header for one run of kept lines (the function name only on the hunk's first), then it."""
    olds = sum(1 for r in run if r.text[:1] not in ("+", "\\"))
    news = sum(1 for r in run if r.text[:1] not in ("-", "\\"))
    first = run[0]
    # An empty side starts at the line before it, as git writes it ("-0,0" for a new file).
    start_old = first.old if olds else first.old - 1
    start_new = first.new if news else first.new - 1
    header = f"@@ -{start_old},{olds} +{start_new},{news} @@{suffix}"
    return [header, *(r.text for r in run)]
