"""The running bot: chat platforms, the daily scheduler and the web app, wired from settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from adapters.pacing import Pacer
from adapters.slack.app import (
    SLACK_RATES,
    SlackPoster,
    build_app,
    http_endpoint,
    slack_client,
    socket_mode,
)
from adapters.telegram.app import (
    TelegramApp,
    build_application,
    telegram_poster,
    webhook_endpoint,
)
from adapters.telegram.app import start as start_telegram
from adapters.telegram.app import stop as stop_telegram
from adapters.web.routes import ReportRoutes
from bot.chat import ChatPoster, ChatTarget
from bot.conversation import ChannelSetup, Conversation
from bot.daily import DailyPoster, DailyResult, describe
from bot.storage.chat_store import SqlChatStore
from bot.subscriptions import Subscription
from digestbot.wiring import Core
from scheduler.clock import build_scheduler, catch_up

STOP_SECONDS = 25  # Heroku sends SIGKILL 30 s after SIGTERM
_log = logging.getLogger("digestbot")


@dataclass
class Service:
    """Everything a process needs; what it starts depends on its role."""

    core: Core
    subscriptions: tuple[Subscription, ...]
    conversation: Conversation
    daily: DailyPoster
    posters: dict[str, ChatPoster] = field(default_factory=dict)
    slack_app: AsyncApp | None = None
    telegram: TelegramApp | None = None
    # How a firing runs: None posts in this process; with a queue, it enqueues (digestbot.queue).
    fire: Callable[[Subscription, date], Awaitable[object]] | None = None

    async def post(self, subscription: Subscription, fired_on: date) -> list[DailyResult]:
        """Run one subscription now (the CLI's `post`, the scheduler's jobs), and log it."""
        results = await self.daily.run(subscription, fired_on)
        _log.info(describe(subscription, results))
        return results

    async def close(self) -> None:
        """Release clients and the database."""
        if self.telegram is not None:
            await stop_telegram(self.telegram)
        await self.core.close()


async def channel_setups(
    core: Core, subscriptions: tuple[Subscription, ...]
) -> dict[tuple[str, str], ChannelSetup]:
    """What each chat follows: the repositories of every subscription posting there."""
    setups: dict[tuple[str, str], ChannelSetup] = {}
    for s in subscriptions:
        named = {}
        for spec in s.repos:
            source = core.source(spec)
            named[await source.repo_name()] = source
        key = (s.target.platform, s.target.channel)
        first = setups.get(key, ChannelSetup({}, s.tz, s.language))  # its zone and language win
        setups[key] = replace(first, sources={**first.sources, **named})
    return setups


async def open_service(core: Core, subscriptions: tuple[Subscription, ...]) -> Service:
    """Build the conversation, the posters for configured platforms, and the daily poster."""
    setups = await channel_setups(core, subscriptions)
    empty = ChannelSetup({}, "UTC", "en")

    def channels(target: ChatTarget) -> ChannelSetup:
        return setups.get((target.platform, target.channel), empty)

    publisher = core.publisher()
    conversation = Conversation(
        core.engine,
        core.store,
        SqlChatStore(core.store.engine),
        channels,
        core.answerer,
        publisher=publisher,
    )
    posters: dict[str, ChatPoster] = {}
    daily = DailyPoster(core.engine, publisher, core.source, posters)
    service = Service(core, subscriptions, conversation, daily, posters)
    _add_slack(service)
    await _add_telegram(service)
    return service


def _add_slack(service: Service) -> None:
    slack = service.core.settings.slack
    if slack.bot_token is None:
        return
    client = slack_client(slack.bot_token.get_secret_value(), slack.api_url)
    service.posters["slack"] = SlackPoster(client, Pacer(SLACK_RATES))
    secret = slack.signing_secret.get_secret_value() if slack.signing_secret else ""
    service.slack_app = build_app(service.conversation, client, secret, Pacer(SLACK_RATES))


async def _add_telegram(service: Service) -> None:
    telegram = service.core.settings.telegram
    if telegram.bot_token is None:
        return
    token = telegram.bot_token.get_secret_value()
    application = build_application(token, telegram.api_url, service.conversation, telegram_poster)
    await application.initialize()
    service.telegram = application
    service.posters["telegram"] = telegram_poster(application.bot)


async def health(request: Request) -> JSONResponse:
    """200 when the database answers, 503 otherwise."""
    service: Service = request.app.state.service
    try:
        async with service.core.store.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means unhealthy
        return JSONResponse({"ok": False, "database": str(exc)[:200]}, status_code=503)
    return JSONResponse({"ok": True, "subscriptions": len(service.subscriptions)})


def web_app(service: Service) -> Starlette:
    """The web process: health, Slack's HTTP endpoint, Telegram's webhook, report pages."""
    routes: list[BaseRoute] = [Route("/healthz", health)]
    if service.slack_app is not None and service.core.settings.slack.signing_secret is not None:
        routes.append(Route("/slack/events", http_endpoint(service.slack_app), methods=["POST"]))
    telegram = service.core.settings.telegram
    if service.telegram is not None and telegram.webhook_secret is not None:
        endpoint = webhook_endpoint(service.telegram, telegram.webhook_secret.get_secret_value())
        routes.append(Route("/telegram/webhook", endpoint, methods=["POST"]))
    pages = ReportRoutes(service.core.store, service.core.signer).routes()
    app = Starlette(routes=[*routes, *pages])
    app.state.service = service
    return app


@dataclass
class Clock:
    """The clock role: the scheduler, catch-up, Slack Socket Mode and Telegram polling."""

    service: Service
    socket: AsyncSocketModeHandler | None = None
    scheduler: AsyncIOScheduler | None = None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    async def start(self, now: datetime) -> None:
        """Start everything the clock owns; catch-up runs in the background."""
        service = self.service
        self.scheduler = build_scheduler(service.subscriptions, service.fire or service.post)
        self.scheduler.start()
        for subscription, today in catch_up(service.subscriptions, now):
            self.tasks.append(asyncio.create_task(self._catch_up(subscription, today)))
        app_token = service.core.settings.slack.app_token
        if service.slack_app is not None and app_token is not None:
            self.socket = socket_mode(service.slack_app, app_token.get_secret_value())
            await self.socket.connect_async()  # type: ignore[no-untyped-call]

    async def _catch_up(self, subscription: Subscription, today: date) -> None:
        try:
            await (self.service.fire or self.service.post)(subscription, today)
        except Exception:  # logged like a scheduled run's failure; the clock keeps going
            _log.exception("catch-up of %s failed", subscription.name)

    async def stop(self) -> None:
        """Stop taking new work, give running posts a moment, then close."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.socket is not None:
            await self.socket.close_async()  # type: ignore[no-untyped-call]
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=STOP_SECONDS - 10)
            for task in self.tasks:
                task.cancel()  # an unfinished post resumes on the next start


async def start_chat(service: Service, *, polling: bool) -> None:
    """Start Telegram: polling (clock role without a webhook) or the webhook (web role)."""
    if service.telegram is None:
        return
    config = service.core.settings.telegram
    secret = config.webhook_secret.get_secret_value() if config.webhook_secret else None
    if polling and config.webhook_url:
        return  # the web process owns Telegram when a webhook is configured
    await start_telegram(
        service.telegram,
        polling=polling,
        webhook_url=None if polling else config.webhook_url,
        secret=secret,
    )


class _Server(uvicorn.Server):
    # We install our own SIGTERM handling, so the clock stops with the web server.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def serve(service: Service, *, port: int | None, clock: bool, now: datetime) -> None:
    """Run the roles asked for until SIGTERM, then stop within Heroku's 30 s."""
    stop = asyncio.Event()
    _on_signals(stop)
    server = (
        _Server(uvicorn.Config(web_app(service), host="0.0.0.0", port=port, log_level="info"))
        if port is not None
        else None
    )
    if server is not None:
        await start_chat(service, polling=False)
    running = Clock(service) if clock else None
    if running is not None:
        await start_chat(service, polling=True)
        await running.start(now)
    web = asyncio.create_task(server.serve()) if server else None
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait([t for t in (web, waiter) if t], return_when=asyncio.FIRST_COMPLETED)
    if server is not None:
        server.should_exit = True
    if running is not None:
        await running.stop()
    if web is not None:
        await asyncio.wait_for(web, STOP_SECONDS)
    waiter.cancel()
    await service.close()
