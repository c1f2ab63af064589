"""How the command line reports a failure: one line on stderr; a traceback only in a log file."""

from __future__ import annotations

import errno
import os
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bot.errors import CommandError, ConfigError, DateSpecError, DigestbotError

EXIT_USAGE = 2
EXIT_FAILURE = 1
# Input the user typed wrong (fix the command); every other error is the environment's (exit 1).
USAGE_ERRORS = (ConfigError, DateSpecError, CommandError)


def exit_status(error: DigestbotError) -> int:
    """2 for a usage error, 1 for everything else."""
    return EXIT_USAGE if isinstance(error, USAGE_ERRORS) else EXIT_FAILURE


def debugging(flag: bool) -> bool:
    """True when tracebacks should reach stderr: `--debug` or DIGESTBOT_DEBUG=1."""
    return flag or os.environ.get("DIGESTBOT_DEBUG", "").lower() in ("1", "true", "yes")


def resource_line(exc: BaseException) -> str | None:
    """One line for running out of memory, open files or disk space; None otherwise."""
    if isinstance(exc, MemoryError):
        return "out of memory: free some, or digest fewer repositories at once"
    if not isinstance(exc, OSError):
        return None
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        return "too many open files: raise the limit (ulimit -n) and run again"
    if exc.errno == errno.ENOSPC:
        return "the disk is full: free some space and run again"
    if exc.errno == errno.ENOMEM:
        return "out of memory: free some, or digest fewer repositories at once"
    return None


def state_dir() -> Path:
    """The state folder: $XDG_STATE_HOME/digestbot, else ~/.local/state/digestbot."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "digestbot"


def error_log() -> Path:
    """Where unexpected errors are written: the state folder's errors.log."""
    return state_dir() / "errors.log"


def log_unexpected(exc: BaseException, command: str) -> Path | None:
    """Append the traceback to the error log (or a temporary file); where it went, or None."""
    text = "".join(traceback.format_exception(exc))
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    record = f"--- {stamp} digestbot {command} (pid {os.getpid()})\n{text}\n"
    for path in (error_log(), Path(tempfile.gettempdir()) / "digestbot-errors.log"):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as log:
                log.write(record)
        except OSError:
            continue
        return path
    return None


def unexpected_line(exc: BaseException, where: Path | None) -> str:
    """The one line for a bug: what kind, where the details are, how to see them here."""
    # The exception's text is not shown: it may hold anything (a URL with a token…).
    logged = f"the details are in {where}" if where else "the details could not be logged"
    return (
        f"unexpected error ({type(exc).__name__}); {logged}; run with --debug to see them "
        "here, and please report it"
    )
