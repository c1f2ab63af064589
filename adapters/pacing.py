"""Client-side pacing: wait before a platform would refuse, per chat, over sliding windows.

One pacer per platform per process, shared by everything that posts (scheduled posts, command
posts, answers): separate pacers for one chat would each think they had the chat to themselves.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

# A 429 halves the pace of that chat (down to a quarter of the documented rate: two processes
# sharing a channel need a half, and a lower cap keeps their collisions from starving both);
# each quiet stretch this long without another 429 doubles it back. A limit up to four times
# stricter than documented costs a few 429s, not one per message.
MAX_SLOWDOWN = 4
RELAX_SECONDS = 300.0
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rate:
    """At most `count` messages per `seconds`."""

    count: int
    seconds: float


Rates = Sequence[Rate] | Callable[[str], Sequence[Rate]]


@dataclass
class _Slowdown:
    factor: int
    since: float  # the last 429


class Pacer:
    """Spaces sends per key (a channel or chat) so every rate holds; a 429 pauses and slows it."""

    def __init__(
        self,
        rates: Rates,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        fixed = () if callable(rates) else tuple(rates)
        self._rates: Callable[[str], Sequence[Rate]] = (
            rates if callable(rates) else (lambda _key: fixed)
        )
        self._clock = clock
        self._sleep = sleep
        self._sent: defaultdict[str, deque[float]] = defaultdict(deque)
        self._paused_until: dict[str, float] = {}
        self._slow: dict[str, _Slowdown] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def slowdown(self, key: str) -> int:
        """How many times slower than its rates `key` is paced now (1 = as documented)."""
        slow = self._slow.get(key)
        if slow is None:
            return 1
        quiet = int((self._clock() - slow.since) // RELAX_SECONDS)
        return max(1, slow.factor >> quiet)

    def delay(self, key: str) -> float:
        """Seconds to wait before the next send to `key` keeps every rate."""
        now = self._clock()
        factor = self.slowdown(key)
        rates = [Rate(r.count, r.seconds * factor) for r in self._rates(key)]
        sent = self._sent[key]
        horizon = max((r.seconds for r in rates), default=0.0)
        while sent and sent[0] <= now - horizon:
            sent.popleft()
        wait = max(0.0, self._paused_until.get(key, 0.0) - now)
        for rate in rates:
            recent = [t for t in sent if t > now - rate.seconds]
            if len(recent) >= rate.count:
                wait = max(wait, recent[-rate.count] + rate.seconds - now)
        return wait

    async def wait(self, key: str) -> None:
        """Block until a send to `key` is allowed, then count it (first come, first served)."""
        async with self._locks[key]:
            wait = self.delay(key)
            while wait > 0:
                await self._sleep(wait)
                wait = self.delay(key)
            self._sent[key].append(self._clock())

    def pause(self, key: str, seconds: float) -> None:
        """Hold every send to `key` for `seconds`."""
        self._paused_until[key] = max(self._paused_until.get(key, 0.0), self._clock() + seconds)

    def penalize(self, key: str, retry_after: float) -> None:
        """The platform said 429: wait its Retry-After, and pace `key` slower for a while."""
        echo = self._clock() < self._paused_until.get(key, 0.0)  # sent before the last 429
        self.pause(key, retry_after)
        if echo:
            return
        factor = min(MAX_SLOWDOWN, self.slowdown(key) * 2)
        self._slow[key] = _Slowdown(factor, self._clock())
        # DEBUG: the poster that met the 429 logs it (with its platform) at INFO.
        _log.debug("429 for %s: waiting %.1f s, then pacing %dx slower", key, retry_after, factor)
