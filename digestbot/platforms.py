"""Each chat platform starts, fails and recovers on its own, in the background.

A platform that cannot start (network down, a 5xx, a refused token) is `degraded` with a short
reason and retried with capped exponential backoff; a refusal that only a configuration change
can fix is retried rarely. Nothing here blocks the web pages, the scheduler or another
platform: the database is the process's only hard dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.errors import ChatError
from bot.telemetry import PlatformChanged, emit

STARTING, OK, DEGRADED = "starting", "ok", "degraded"
_log = logging.getLogger("digestbot.platforms")


@dataclass(frozen=True)
class StartPolicy:
    """How often a platform's start is tried again, and how often a running one is checked."""

    first: float = 1.0
    cap: float = 300.0
    refused: float = 1800.0  # a token refused for good: a restart with a new one is the fix
    watch: float = 15.0

    def wait(self, attempt: int, permanent: bool) -> float:
        """Seconds before attempt `attempt + 1` (attempts count from 1)."""
        if permanent:
            return self.refused
        return float(min(self.cap, self.first * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class PlatformStatus:
    """What /healthz says about one platform."""

    state: str
    reason: str = ""
    since: datetime | None = None

    def as_json(self) -> dict[str, str]:
        """The health entry: state, and the reason when there is one."""
        shown = {"state": self.state}
        return shown | ({"reason": self.reason} if self.reason else {})


Start = Callable[[], Awaitable[None]]
Check = Callable[[], Awaitable[str | None]]


class PlatformRunner:
    """Starts one platform in the background until it is up, then watches its connection."""

    def __init__(
        self,
        name: str,
        start: Start,
        *,
        check: Check | None = None,
        policy: StartPolicy | None = None,
        redact: Callable[[str], str] = lambda text: text,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self._start = start
        self._check = check
        self._policy = policy or StartPolicy()
        self._redact = redact
        self._sleep = sleep
        self.status = PlatformStatus(STARTING, since=datetime.now(UTC))
        self._task: asyncio.Task[None] | None = None

    def launch(self) -> None:
        """Start in the background; returns at once."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"start {self.name}")

    async def stop(self) -> None:
        """Stop trying (or watching)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run(self) -> None:
        """Try until the platform is up, then watch it."""
        self._set(STARTING)
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._start()
                break
            except ChatError as exc:
                reason, permanent = exc.reason, not exc.retry_helps
            except Exception as exc:  # an SDK error we did not name: still only this platform
                _log.warning("%s: unexpected start-up failure", self.name, exc_info=True)
                reason, permanent = f"start-up failed ({type(exc).__name__})", False
            wait = self._policy.wait(attempt, permanent)
            self._set(DEGRADED, reason, attempt, wait)
            await self._sleep(wait)
        self._set(OK, attempt=attempt, recovered=attempt > 1)
        if self._check is not None:
            await self._watch(self._check)

    async def _watch(self, check: Check) -> None:
        """Degraded while the connection is down (the SDK reconnects), ok again once back."""
        while True:
            await self._sleep(self._policy.watch)
            try:
                reason = await check()
            except Exception as exc:  # the check itself failed: say so, keep watching
                reason = f"health check failed ({type(exc).__name__})"
            if reason and self.status.state == OK:
                self._set(DEGRADED, reason)
            elif reason is None and self.status.state == DEGRADED:
                self._set(OK, recovered=True)

    def _set(
        self,
        state: str,
        reason: str = "",
        attempt: int = 0,
        wait: float | None = None,
        *,
        recovered: bool = False,
    ) -> None:
        shown = self._redact(reason)
        self.status = PlatformStatus(state, shown, datetime.now(UTC))
        emit(PlatformChanged(self.name, state, shown, attempt, wait, recovered), _log)
