"""Waiting in tests: on a condition, never a fixed sleep; the bound only catches a hang."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

HANG_GUARD_SECONDS = 60.0  # generous for a busy machine: a guard, not a time budget


async def until(condition: Callable[[], object], seconds: float = HANG_GUARD_SECONDS) -> None:
    """Give the event loop turns until `condition()` holds; fail after a generous bound."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.01)
