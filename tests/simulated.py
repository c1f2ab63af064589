"""Simulated time and a simulated kill -9, for tests that must not wait minutes or die."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.delivery import Claim, DeliveryLog


def utcnow() -> datetime:
    """The real time, in UTC."""
    return datetime.now(UTC)


class SimClock:
    """Real time plus the waits the clock and leases were spared (nothing sleeps for them)."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.skipped)

    async def sleep(self, seconds: float) -> None:
        self.skipped += seconds
        await asyncio.sleep(0)


class KillableLog:
    """A delivery log of a process that is killed (-9) at its `kill_at`-th record.

    The message of that record was sent; the record never happens. From then on the process
    does nothing at all: every call hangs, and it never releases its claim.
    """

    def __init__(self, log: DeliveryLog, kill_at: int) -> None:
        self._log = log
        self._kill_at = kill_at
        self._records = 0
        self.killed = asyncio.Event()

    async def _alive(self) -> None:
        if self.killed.is_set():
            await asyncio.Event().wait()  # forever: a dead process does nothing

    async def claim(self, key: str, owner: str, now: datetime, lease: timedelta) -> Claim:
        await self._alive()
        return await self._log.claim(key, owner, now, lease)

    async def intend(self, key: str, owner: str, index: int, now: datetime) -> None:
        await self._alive()
        await self._log.intend(key, owner, index, now)

    async def record(
        self, key: str, owner: str, index: int, message_id: str, now: datetime
    ) -> None:
        self._records += 1
        if self._records == self._kill_at:
            self.killed.set()
        await self._alive()
        await self._log.record(key, owner, index, message_id, now)

    async def renew(self, key: str, owner: str, now: datetime) -> bool:
        await self._alive()
        return await self._log.renew(key, owner, now)

    async def release(self, key: str, owner: str) -> None:
        if not self.killed.is_set():
            await self._log.release(key, owner)

    async def finish(self, key: str, owner: str, now: datetime) -> None:
        await self._alive()
        await self._log.finish(key, owner, now)
