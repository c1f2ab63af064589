"""What the command line writes on a terminal: one-line warnings and progress; imports little.

`digestbot --help` imports this module and not the core, so it must stay cheap to import.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import TextIO

ANALYZER_MODES = ("auto", "rules", "llm")
_WIDTH = 24


def warn(message: str) -> None:
    """A line for the user on stderr."""
    print(f"digestbot: {message}", file=sys.stderr)


class ProgressLine:
    """One repository's progress, redrawn in place on one line: fetch, waits, analysis.

    Drawn only where a person watches (a terminal); a pipe or a log file gets nothing.
    """

    def __init__(self, label: str, out: TextIO | None = None, *, final_only: bool = False) -> None:
        self._label = label
        self._out = out or sys.stderr
        self._open = False
        # Several repositories built at once cannot share one line: each says only when done.
        self._final_only = final_only

    def _draw(self, text: str, *, final: bool = False) -> None:
        if self._final_only and not final:
            return
        self._out.write(f"\r\x1b[2K{self._label} {text}" + ("\n" if final else ""))
        self._out.flush()
        self._open = not final

    @staticmethod
    def _bar(done: int, total: int) -> str:
        filled = _WIDTH * done // max(total, 1)
        return f"[{'#' * filled}{'.' * (_WIDTH - filled)}] {done}/{total}"

    def fetched(self, done: int, total: int) -> None:
        """`done` of the day's `total` commits read from the source."""
        self._draw(f"fetching {self._bar(done, total)}")

    def waiting(self, seconds: float, reason: str) -> None:
        """The source waits `seconds` (a rate limit) before it goes on."""
        until = datetime.fromtimestamp(time.time() + seconds, UTC).strftime("%H:%M:%S UTC")
        self._draw(f"{reason}: waiting {seconds:.0f} s (until {until})")

    def __call__(self, done: int, total: int) -> None:
        """`done` of `total` commits analyzed; the line is finished with the last one."""
        self._draw(f"analyzing {self._bar(done, total)}", final=done >= total)

    def close(self) -> None:
        """End the line if a step left it open (a day with nothing to analyze)."""
        if self._open:
            self._out.write("\n")
            self._out.flush()
            self._open = False


def progress_line(label: str, *, final_only: bool = False) -> ProgressLine | None:
    """A progress line on stderr when stderr is a terminal, else None."""
    return ProgressLine(label, final_only=final_only) if sys.stderr.isatty() else None
