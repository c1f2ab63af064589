"""Shared builds: one process builds a (repository, day, zone, language) digest at a time.

Two clocks, a clock and a command, or four `digestbot digest` runs of one day used to build
the same digest side by side, each paying for every model call. A build now takes a lease on
its key first; the others wait for it (polling, bounded) and then build themselves, which
finds every analysis (and the overview) in the cache: zero model calls. A holder renews its
lease while it works, so one that died is taken over once its lease runs out.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from bot.days import DayWindow
from bot.digest import DigestEngine
from bot.models import RepoDigest
from bot.ports import CommitSource

T = TypeVar("T")
_log = logging.getLogger(__name__)


class LeaseLocks(Protocol):
    """Named locks with leases, shared by every process on one database."""

    async def acquire(self, key: str, owner: str, now: datetime, lease: timedelta) -> bool:
        """Take the lock when it is free or its holder's lease ran out; True when taken."""
        ...

    async def renew(self, key: str, owner: str, now: datetime, lease: timedelta) -> bool:
        """Extend the owner's lease; False when the lock is no longer the owner's."""
        ...

    async def release(self, key: str, owner: str) -> None:
        """Drop the lock if the owner still holds it."""
        ...


@dataclass(frozen=True)
class WaitPolicy:
    """How long a lease lasts, how often a waiter looks again, and when it stops waiting."""

    lease: timedelta = timedelta(seconds=60)  # renewed every third of it while building
    max_wait: timedelta = timedelta(minutes=30)  # then build anyway (paying twice, not hanging)
    first_poll: float = 0.1
    max_poll: float = 2.0


def build_key(repo: str, window: DayWindow, language: str) -> str:
    """The identity of one digest build."""
    return f"build:{repo}:{window.day.isoformat()}:{window.tz}:{language}"


class BuildGate:
    """Runs work under a lease on its key; waits while another owner holds the key."""

    def __init__(
        self,
        locks: LeaseLocks,
        *,
        process: str,
        policy: WaitPolicy | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._locks = locks
        self._process = process
        self._policy = policy or WaitPolicy()
        self._now = now
        self._serial = itertools.count(1)

    async def run(self, key: str, work: Callable[[], Awaitable[T]]) -> T:
        """`work()` while holding `key`; after waiting for another holder if there is one."""
        owner = f"{self._process}:{next(self._serial)}"  # two builds in one process differ too
        if not await self._wait_for(key, owner):
            _log.warning("build %s: still held elsewhere after the wait; building anyway", key)
            return await work()
        keeper = asyncio.create_task(self._keep(key, owner))
        try:
            return await work()
        finally:
            keeper.cancel()
            await self._locks.release(key, owner)

    async def _wait_for(self, key: str, owner: str) -> bool:
        policy = self._policy
        deadline = self._now() + policy.max_wait
        pause = policy.first_poll
        waited = False
        while not await self._locks.acquire(key, owner, self._now(), policy.lease):
            if self._now() >= deadline:
                return False
            if not waited:
                _log.info("build %s: another process is building it; waiting to reuse it", key)
                waited = True
            await asyncio.sleep(pause)
            pause = min(pause * 2, policy.max_poll)
        if waited:
            _log.info("build %s: the other build finished; reusing its analyses", key)
        return True

    async def _keep(self, key: str, owner: str) -> None:
        lease = self._policy.lease
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            try:
                held = await self._locks.renew(key, owner, self._now(), lease)
            except Exception:  # a database blip: the lease has two more tries before it lapses
                _log.warning("build %s: could not renew the lease; retrying", key, exc_info=True)
                continue
            if not held:
                _log.warning("build %s: lease lost (stalled too long); another may build", key)
                return


class SharedBuildEngine(DigestEngine):
    """A DigestEngine whose builds of one key run one at a time across processes."""

    def __init__(self, *args: Any, gate: BuildGate, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gate = gate

    async def build(
        self, source: CommitSource, window: DayWindow, language: str, *args: Any, **kwargs: Any
    ) -> RepoDigest:
        """The engine's build, under the lease of (repository, day, zone, language)."""
        parent = super().build
        key = build_key(await source.repo_name(), window, language)
        return await self._gate.run(key, lambda: parent(source, window, language, *args, **kwargs))
