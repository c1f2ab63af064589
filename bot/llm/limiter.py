"""How many model calls may be in flight (AIMD), and when to stop calling at all (a breaker)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass
class Slot:
    """One call's place under the limit; the caller says how the call went."""

    epoch: int
    outcome: str = "failed"  # "ok", "rate_limited" or "failed"


class AdaptiveLimit:
    """Additive increase, multiplicative decrease: halve on a 429, grow back by one per window.

    Only the first 429 of a window halves the limit: the other calls that were already in
    flight at the old limit get their 429s too, and counting those would collapse the limit
    to one. A window ends when the limit changes.
    """

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.limit = ceiling
        self.rate_limited = 0
        self._in_flight = 0
        self._epoch = 0
        self._successes = 0
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Slot]:
        """Wait for room under the limit; the slot's outcome adjusts the limit on release."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._in_flight < self.limit)
            self._in_flight += 1
            slot = Slot(self._epoch)
        try:
            yield slot
        finally:
            async with self._changed:
                self._in_flight -= 1
                self._account(slot)
                self._changed.notify_all()

    def _account(self, slot: Slot) -> None:
        if slot.outcome == "rate_limited":
            self.rate_limited += 1
            if slot.epoch == self._epoch:
                self.limit = max(1, self.limit // 2)
                self._epoch += 1
                self._successes = 0
        elif slot.outcome == "ok" and self.limit < self.ceiling:
            # One more slot after a whole window's worth of successes: slow growth.
            self._successes += 1
            if self._successes >= self.limit:
                self.limit += 1
                self._epoch += 1
                self._successes = 0


class CircuitBreaker:
    """Opens after `threshold` connection failures or time-outs in a row; half-opens later.

    While open every call is refused at once, so a dead or hanging endpoint costs one
    time-out, not one per entry. After the cool-down one trial call may go; its success
    closes the breaker, its failure opens it again.
    """

    def __init__(
        self,
        threshold: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._open_until: float | None = None
        self.trips = 0

    @property
    def is_open(self) -> bool:
        """True while calls are refused (open and still cooling down)."""
        return self._open_until is not None and self._clock() < self._open_until

    def allow(self) -> bool:
        """Whether a call may go now (a half-open breaker lets a trial call through)."""
        return not self.is_open

    def failure(self) -> bool:
        """Count a connection failure or time-out; True when this one opened the breaker."""
        self._failures += 1
        if self._failures >= self._threshold and not self.is_open:
            self._open_until = self._clock() + self._cooldown
            self.trips += 1
            return True
        return False

    def success(self) -> None:
        """Any answer from the endpoint closes the breaker."""
        self._failures = 0
        self._open_until = None
