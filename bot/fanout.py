"""Several repositories' digests built at once, a few at a time, handed back in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

# Repositories built at once for one report or one subscription: their GitHub requests share
# the process's RequestGate and their model calls the one client's limiter, so this bounds
# memory (each build holds its day's patches) more than it bounds the services.
REPOS_AT_ONCE = 4


async def in_order(
    calls: Sequence[Callable[[], Awaitable[T]]], limit: int = REPOS_AT_ONCE
) -> AsyncIterator[T]:
    """Each call's result in the order given, as soon as it and those before it are done.

    Every call starts at once, at most `limit` running at a time. Leaving the loop early, or
    a call failing, cancels the calls still running (the asyncio loop closes the iterator).
    """
    gate = asyncio.Semaphore(limit)

    async def bounded(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    tasks = [asyncio.create_task(bounded(call)) for call in calls]
    try:
        for task in tasks:
            yield await task
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
