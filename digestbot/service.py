"""The running bot: chat platforms, the daily scheduler and the web app, wired from settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from adapters.slack.app import (
    SlackPoster,
    build_app,
    http_endpoint,
    slack_client,
    slack_pacer,
    socket_mode,
)
from adapters.slack.signature import signed_only
from adapters.telegram.app import (
    TelegramApp,
    build_application,
    shared_poster,
    telegram_poster,
    webhook_endpoint,
)
from adapters.telegram.app import initialize as initialize_telegram
from adapters.telegram.app import start as start_telegram
from adapters.telegram.app import stop as stop_telegram
from adapters.web.limits import guarded_app
from adapters.web.routes import ReportRoutes
from adapters.web.server import server_config
from bot.chat import ChatPoster, ChatTarget
from bot.conversation import ChannelSetup, Conversation
from bot.daily import DailyPoster, DailyResult, describe
from bot.errors import ConfigError
from bot.storage.chat_store import SqlChatStore
from bot.storage.inbound_store import SqlInboundLog
from bot.subscriptions import Subscription
from digestbot.wiring import Core
from scheduler.clock import DailyClock, build_scheduler, catch_up

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
    """What each chat follows: the repositories of every subscription posting there.

    `/digest DATE NAME` picks a repository by its name, so one chat's names must differ.
    """
    setups: dict[tuple[str, str], ChannelSetup] = {}
    specs: dict[tuple[str, str, str], str] = {}  # (platform, channel, name) → the spec named
    for s in subscriptions:
        named = {}
        key = (s.target.platform, s.target.channel)
        for spec in s.repos:
            source = core.source(spec)
            name = await source.repo_name()
            if specs.setdefault((*key, name), spec) != spec:
                raise ConfigError(
                    f"{name!r} names two repositories of {key[0]} {key[1]} "
                    f"({specs[(*key, name)]} and {spec}): give one another name, "
                    f'e.g. {{path = "…", name = "…"}}'
                )
            named[name] = source
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
    """Slack's poster and Bolt app, sharing one client and one pacer for every channel."""
    slack = service.core.settings.slack
    if slack.bot_token is None:
        return
    client = slack_client(slack.bot_token.get_secret_value(), slack.api_url)
    pacer = slack_pacer()
    service.posters["slack"] = SlackPoster(client, pacer)
    secret = slack.signing_secret.get_secret_value() if slack.signing_secret else ""
    seen = SqlInboundLog(service.core.store.engine)
    service.slack_app = build_app(service.conversation, client, secret, pacer, seen)


async def _add_telegram(service: Service) -> None:
    """Telegram's application; its handlers and the daily posts share one poster."""
    telegram = service.core.settings.telegram
    if telegram.bot_token is None:
        return
    token = telegram.bot_token.get_secret_value()
    seen = SqlInboundLog(service.core.store.engine)
    application = build_application(
        token, telegram.api_url, service.conversation, telegram_poster, seen
    )
    await initialize_telegram(application)  # getMe: a wrong token or no network shows here
    service.telegram = application
    service.posters["telegram"] = shared_poster(application)


async def health(request: Request) -> JSONResponse:
    """200 when the database answers, 503 otherwise; the reason goes to the log, not the page."""
    service: Service = request.app.state.service
    try:
        async with service.core.store.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means unhealthy
        # Host, port and user help an attacker: the probe's caller sees a status only.
        _log.warning("healthz: the database did not answer: %s: %s", type(exc).__name__, exc)
        return JSONResponse({"ok": False, "database": "unavailable"}, status_code=503)
    return JSONResponse({"ok": True, "subscriptions": len(service.subscriptions)})


def web_app(service: Service) -> Starlette:
    """The web process: health, Slack's HTTP endpoint, Telegram's webhook, report pages.

    Every route sits behind adapters.web.limits (body cap, sane URLs, security headers).
    """
    routes: list[BaseRoute] = [Route("/healthz", health)]
    signing = service.core.settings.slack.signing_secret
    if service.slack_app is not None and signing is not None:
        # Checked before Bolt parses the body: unsigned requests never reach it.
        endpoint = signed_only(http_endpoint(service.slack_app), signing.get_secret_value())
        routes.append(Route("/slack/events", endpoint, methods=["POST"]))
    telegram = service.core.settings.telegram
    if service.telegram is not None and telegram.webhook_secret is not None:
        hook = webhook_endpoint(service.telegram, telegram.webhook_secret.get_secret_value())
        routes.append(Route("/telegram/webhook", hook, methods=["POST"]))
    pages = ReportRoutes(service.core.store, service.core.signer).routes()
    app = guarded_app([*routes, *pages])
    app.state.service = service
    return app


@dataclass
class Clock:
    """The clock role: the scheduler, catch-up, Slack Socket Mode and Telegram polling."""

    service: Service
    socket: AsyncSocketModeHandler | None = None
    scheduler: AsyncIOScheduler | None = None
    daily: DailyClock | None = None

    async def start(self, now: datetime) -> None:
        """Start everything the clock owns; catch-up runs in the background, with retries."""
        service = self.service
        if service.fire is not None:  # a queue: each firing enqueues, workers post and retry
            self.scheduler = build_scheduler(service.subscriptions, service.fire)
            for subscription, today in catch_up(service.subscriptions, now):
                await service.fire(subscription, today)
        else:
            self.daily = DailyClock(service.subscriptions, service.post)
            self.daily.catch_up(now)
            self.scheduler = self.daily.scheduler()
        self.scheduler.start()
        app_token = service.core.settings.slack.app_token
        if service.slack_app is not None and app_token is not None:
            self.socket = socket_mode(service.slack_app, app_token.get_secret_value())
            await self.socket.connect_async()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        """Stop taking new work, give running posts a moment, then stop them (claims released)."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.socket is not None:
            await self.socket.close_async()  # type: ignore[no-untyped-call]
        if self.daily is not None:
            await self.daily.stop(STOP_SECONDS - 10)


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
    server = _Server(server_config(web_app(service), "0.0.0.0", port)) if port is not None else None
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
