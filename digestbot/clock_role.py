"""The clock role: the scheduler and its catch-up, chat subscriptions followed live, Socket Mode."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from adapters.slack.app import socket_mode
from scheduler.clock import DailyClock
from scheduler.live import LiveSchedule

if TYPE_CHECKING:
    from digestbot.service import Service

STOP_SECONDS = 25  # Heroku sends SIGKILL 30 s after SIGTERM


@dataclass
class Clock:
    """The clock role: the scheduler, catch-up, Slack Socket Mode and Telegram polling."""

    service: Service
    socket: AsyncSocketModeHandler | None = None
    scheduler: AsyncIOScheduler | None = None
    daily: DailyClock | None = None
    live: LiveSchedule | None = None
    watching: asyncio.Task[None] | None = None

    async def start(self, now: datetime) -> None:
        """Start everything the clock owns; catch-up runs in the background, with retries."""
        service = self.service
        self.daily = DailyClock(service.subscriptions, service.post)
        self.daily.catch_up(now)
        self.scheduler = self.daily.scheduler()
        self.scheduler.start()
        self._follow_chat_subscriptions()
        app_token = service.core.settings.slack.app_token
        if service.slack_app is not None and app_token is not None:
            self.socket = socket_mode(service.slack_app, app_token.get_secret_value())
            await self.socket.connect_async()  # type: ignore[no-untyped-call]

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
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.socket is not None:
            await self.socket.close_async()  # type: ignore[no-untyped-call]
        if self.daily is not None:
            await self.daily.stop(STOP_SECONDS - 10)
