"""One GitHub request budget for the whole process, shared by every GitHubSource."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

T = TypeVar("T")

# Requests in flight across every repository. GitHub allows at most 100 concurrent requests
# per token and counts bursts against its secondary rate limit; 8 keeps a day of many
# repositories moving without inviting that limit.
GITHUB_CONCURRENCY = 8


class Budget(Protocol):
    """A request budget shared beyond this process (bot.limits.SharedBudget, for a fleet)."""

    async def spend(self, tokens: float = 1.0) -> None:
        """Wait for this request's turn."""
        ...


class RequestGate:
    """At most `concurrency` GitHub requests in flight, and one rate-limit wait for all.

    The rate limit belongs to the token, not to a repository: when one source is told to wait
    (Retry-After, or until the reset), every request of every source waits until then.
    PyGithub blocks, so requests run in the gate's own threads: asyncio's default pool (as
    few as 5 threads) stays free for the store's and the budget's work, and cannot cap the
    budget below `concurrency`. Created once in the composition root, given to each source.
    """

    def __init__(
        self,
        concurrency: int = GITHUB_CONCURRENCY,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        budget: Budget | None = None,
    ) -> None:
        self._budget = budget
        self._slots = asyncio.Semaphore(concurrency)
        self._workers = ThreadPoolExecutor(concurrency, thread_name_prefix="github")
        self._clock = clock
        self._sleep = sleep
        self._resume_at = 0.0

    async def run(self, request: Callable[[], T]) -> T:
        """Run one blocking request within the budget; waits out a rate-limit pause first."""
        if self._budget is not None:  # the fleet's turn first, then this process's slot
            await self._budget.spend()
        async with self._slots:
            until = self._resume_at
            wait = until - self._clock()
            if wait > 0:
                await self._sleep(wait)
                if self._resume_at == until:  # served (and no newer word from GitHub)
                    self._resume_at = 0.0
            return await asyncio.get_running_loop().run_in_executor(self._workers, request)

    def pause(self, seconds: float) -> None:
        """No request starts for `seconds` (GitHub's latest word on the limit wins)."""
        self._resume_at = self._clock() + seconds

    def close(self) -> None:
        """Let the request threads go."""
        self._workers.shutdown(wait=False, cancel_futures=True)
