"""Client-side pacing: wait before a platform would refuse, per chat, over sliding windows."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """At most `count` messages per `seconds`."""

    count: int
    seconds: float


class Pacer:
    """Spaces sends per key (a channel or chat) so every rate holds; a 429 pauses the key."""

    def __init__(
        self,
        rates: Sequence[Rate],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._rates = tuple(rates)
        self._clock = clock
        self._sleep = sleep
        self._sent: defaultdict[str, deque[float]] = defaultdict(deque)
        self._paused_until: dict[str, float] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def delay(self, key: str) -> float:
        """Seconds to wait before the next send to `key` keeps every rate."""
        now = self._clock()
        sent = self._sent[key]
        horizon = max((r.seconds for r in self._rates), default=0.0)
        while sent and sent[0] <= now - horizon:
            sent.popleft()
        wait = max(0.0, self._paused_until.get(key, 0.0) - now)
        for rate in self._rates:
            recent = [t for t in sent if t > now - rate.seconds]
            if len(recent) >= rate.count:
                wait = max(wait, recent[-rate.count] + rate.seconds - now)
        return wait

    async def wait(self, key: str) -> None:
        """Block until a send to `key` is allowed, then count it."""
        async with self._locks[key]:
            wait = self.delay(key)
            while wait > 0:
                await self._sleep(wait)
                wait = self.delay(key)
            self._sent[key].append(self._clock())

    def pause(self, key: str, seconds: float) -> None:
        """Hold every send to `key` (the platform said Retry-After)."""
        self._paused_until[key] = max(self._paused_until.get(key, 0.0), self._clock() + seconds)
