"""Limits shared by every worker on one database: model calls in flight, GitHub requests a minute.

Each process already bounds itself (the model client's semaphore, the source's fetch gate);
with several workers those bounds multiply. These two hold across the whole fleet:
- `SharedSlots`: N leases named `slot:NAME:i`; a call holds one while it runs. A worker that
  dies mid-call loses its slot when the lease (longer than any call can last) runs out.
- `SharedBudget`: a rate with a burst allowance (GCRA: one row holding the theoretical arrival
  time of the next request); a request reserves its turn in one statement and waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from bot.builds import LeaseLocks
from bot.ports import ModelClient, ModelReply

T = TypeVar("T")
_log = logging.getLogger(__name__)
FIRST_PAUSE, MAX_PAUSE = 0.02, 0.5


class SharedSlots:
    """A semaphore of `size` slots across processes, held through leases."""

    def __init__(
        self,
        locks: LeaseLocks,
        name: str,
        size: int,
        *,
        lease: timedelta,
        process: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._locks = locks
        self._keys = [f"slot:{name}:{i}" for i in range(size)]
        self._lease = lease
        self._process = process
        self._now = now
        self._serial = itertools.count(1)

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Wait for a free slot, hold it for the block, then free it."""
        owner = f"{self._process}:{next(self._serial)}"
        key = await self._take(owner)
        try:
            yield
        finally:
            await self._locks.release(key, owner)

    async def _take(self, owner: str) -> str:
        pause = FIRST_PAUSE
        while True:
            start = random.randrange(len(self._keys))  # spread the processes over the slots
            for key in self._keys[start:] + self._keys[:start]:
                if await self._locks.acquire(key, owner, self._now(), self._lease):
                    return key
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE)


class TokenBucket(Protocol):
    """A named rate budget kept where every process sees it."""

    async def take(self, name: str, tokens: float, rate: float, burst: float, now: float) -> float:
        """Reserve `tokens`: the seconds to wait before using them (0.0 within the burst)."""
        ...


class SharedBudget:
    """`per_minute` requests a minute across the fleet, in bursts of up to a tenth of that."""

    def __init__(
        self,
        bucket: TokenBucket,
        name: str,
        per_minute: int,
        *,
        clock: Callable[[], float] = lambda: datetime.now(UTC).timestamp(),
    ) -> None:
        self._bucket = bucket
        self._name = name
        self._rate = per_minute / 60.0
        self._burst = max(1.0, per_minute / 10.0)
        self._clock = clock

    async def spend(self, tokens: float = 1.0) -> None:
        """Reserve the fleet's next turn for `tokens` requests, and wait for it."""
        now = self._clock()
        wait = await self._bucket.take(self._name, tokens, self._rate, self._burst, now)
        if wait > 1.0:  # short waits are the budget's ordinary pacing
            _log.info("budget %s: waiting %.1f s for this request's turn", self._name, wait)
        if wait > 0:
            await asyncio.sleep(wait)


class SlotLimitedModel:
    """A ModelClient whose calls each hold one of the fleet's model slots."""

    def __init__(self, inner: ModelClient, slots: SharedSlots) -> None:
        self._inner = inner
        self._slots = slots

    @property
    def unreachable(self) -> bool:
        """The inner client's breaker: a slot does not make an unreachable model reachable."""
        return self._inner.unreachable

    async def json_call(
        self, system: str, user: str, name: str, schema: dict[str, Any], max_tokens: int
    ) -> ModelReply:
        """The inner client's JSON call, within a slot."""
        async with self._slots.hold():
            return await self._inner.json_call(system, user, name, schema, max_tokens)

    async def text_call(self, system: str, user: str, max_tokens: int) -> ModelReply:
        """The inner client's text call, within a slot."""
        async with self._slots.hold():
            return await self._inner.text_call(system, user, max_tokens)
