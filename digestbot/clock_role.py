"""The clock role: the scheduler and its catch-up, and chat subscriptions followed live."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.clock import DailyClock, build_scheduler, catch_up
from scheduler.live import LiveSchedule

if TYPE_CHECKING:
    from digestbot.service import Service

STOP_SECONDS = 25  # Heroku sends SIGKILL 30 s after SIGTERM


@dataclass
class Clock:
    """The clock role: the scheduler, catch-up and chat subscriptions (platforms start apart)."""

    service: Service
    scheduler: AsyncIOScheduler | None = None
    daily: DailyClock | None = None
    chat_jobs: AsyncIOScheduler | None = None  # with a queue: chat subscriptions, posted here
    live: LiveSchedule | None = None
    watching: asyncio.Task[None] | None = None

    async def start(self, now: datetime) -> None:
        """Start everything the clock owns; catch-up runs in the background, with retries."""
        service = self.service
        if service.fire is not None:  # a queue: each firing enqueues, workers post and retry
            self.scheduler = build_scheduler(service.subscriptions, service.fire)
            for subscription, today in catch_up(service.subscriptions, now):
                await service.fire(subscription, today)
            # Workers know the file's subscriptions only: chat ones are posted by this process.
            self.daily = DailyClock((), service.post)
            self.chat_jobs = self.daily.scheduler()
            self.chat_jobs.start()
        else:
            self.daily = DailyClock(service.subscriptions, service.post)
            self.daily.catch_up(now)
            self.scheduler = self.daily.scheduler()
        self.scheduler.start()
        self._follow_chat_subscriptions()

    def _follow_chat_subscriptions(self) -> None:
        """Schedule the subscriptions made in chat, and follow their changes live."""
        team, daily = self.service.team, self.daily
        if team is None or daily is None:
            return
        poll = self.service.core.settings.team.poll_seconds
        self.live = LiveSchedule(team.store, daily, poll_seconds=poll)
        team.wake.append(self.live.nudge)  # a command handled in this process: look at once
        self.watching = asyncio.create_task(self.live.watch())

    async def stop(self) -> None:
        """Stop taking new work, give running posts a moment, then stop them (claims released)."""
        if self.watching is not None:
            self.watching.cancel()
        if self.live is not None:
            await self.live.stop()
        for scheduler in (self.scheduler, self.chat_jobs):
            if scheduler is not None:
                scheduler.shutdown(wait=False)
        if self.daily is not None:
            await self.daily.stop(STOP_SECONDS - 10)
