"""The running bot: chat platforms, the daily scheduler and the web app, wired from settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import uvicorn
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
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
)
from adapters.slack.signature import signed_only
from adapters.slack.team import SlackMembership
from adapters.telegram.app import (
    TelegramApp,
    build_application,
    shared_poster,
    telegram_poster,
    webhook_endpoint,
)
from adapters.telegram.app import stop as stop_telegram
from adapters.telegram.team import TelegramAdmins
from adapters.web.limits import guarded_app
from adapters.web.routes import ReportRoutes
from adapters.web.server import server_config
from bot import log_messages as say
from bot.chat import ChatPoster
from bot.conversation import ChannelSetup, Conversation
from bot.daily import DailyPoster, DailyResult, describe
from bot.errors import ConfigError
from bot.storage.chat_store import SqlChatStore
from bot.storage.inbound_store import SqlInboundLog
from bot.subscriptions import Subscription
from bot.weekly import WeeklyPoster
from digestbot.chat_starts import SlackStart, TelegramStart
from digestbot.clock_role import STOP_SECONDS, Clock
from digestbot.logs import Redactor, secrets_of
from digestbot.metrics import PrometheusSink, metrics_route
from digestbot.platforms import PlatformRunner, StartPolicy
from digestbot.team_parts import TeamParts, source_of, team_parts
from digestbot.wiring import Core

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
    slack_client: AsyncWebClient | None = None
    telegram: TelegramApp | None = None
    # How a firing runs: None posts in this process; with a queue, it enqueues (digestbot.queue).
    fire: Callable[[Subscription, date], Awaitable[object]] | None = None
    platforms: dict[str, PlatformRunner] = field(default_factory=dict)
    metrics: PrometheusSink | None = None
    weekly: WeeklyPoster | None = None
    team: TeamParts | None = None
    _slack_start: SlackStart | None = None

    async def post(self, subscription: Subscription, fired_on: date) -> list[DailyResult]:
        """Run one subscription now (the CLI's `post`, the scheduler's jobs), and log it."""
        weekly = subscription.cadence == "weekly" and self.weekly is not None
        poster = self.weekly if weekly and self.weekly is not None else self.daily
        results = await poster.run(subscription, fired_on)
        day = (fired_on - timedelta(days=1)).isoformat()
        ids = {"subscription": subscription.name, "day": day}
        _log.info(say.daily_run(describe(subscription, results)), extra=ids)
        return results

    def start_platforms(self, *, web: bool, clock: bool, policy: StartPolicy | None = None) -> None:
        """Start every configured platform in the background; none waits for another."""
        settings = self.core.settings
        redact = Redactor(secrets_of(settings))
        if self.slack_app is not None and self.slack_client is not None:
            app_token = settings.slack.app_token if clock else None  # Socket Mode: the clock's
            token = app_token.get_secret_value() if app_token else None
            slack = self._slack_start = SlackStart(self.slack_client, self.slack_app, token)
            check = slack.check if token else None
            self.platforms["slack"] = PlatformRunner(
                "slack", slack, check=check, policy=policy, redact=redact
            )
        if self.telegram is not None:
            config = settings.telegram
            telegram = TelegramStart.for_role(self.telegram, config, web=web, clock=clock)
            check = telegram.check if telegram.polling else None
            self.platforms["telegram"] = PlatformRunner(
                "telegram", telegram, check=check, policy=policy, redact=redact
            )
        for runner in self.platforms.values():
            runner.launch()

    async def close(self) -> None:
        """Stop the platforms, release clients and the database."""
        for runner in self.platforms.values():
            await runner.stop()
        if self._slack_start is not None:
            await self._slack_start.close()
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
    """Build the conversation, the posters and the daily poster; no platform is called yet."""
    setups = await channel_setups(core, subscriptions)
    team = team_parts(core, subscriptions, setups)  # its channels add the chat's subscriptions
    publisher = core.publisher()
    conversation = Conversation(
        core.engine,
        core.store,
        SqlChatStore(core.store.engine),
        team.channels,
        core.answerer,
        publisher=publisher,
        team=team.desk,
    )
    posters: dict[str, ChatPoster] = {}
    sources = source_of(core)
    daily = DailyPoster(core.engine, publisher, sources, posters)
    service = Service(core, subscriptions, conversation, daily, posters, team=team)
    service.weekly = WeeklyPoster(core.engine, publisher, sources, posters, core.links)
    _add_slack(service)
    _add_telegram(service)
    return service


def _add_slack(service: Service) -> None:
    """Slack's poster and Bolt app, sharing one client and one pacer for every channel."""
    slack = service.core.settings.slack
    if slack.bot_token is None:
        return
    client = service.slack_client = slack_client(slack.bot_token.get_secret_value(), slack.api_url)
    pacer = slack_pacer()
    service.posters["slack"] = SlackPoster(client, pacer)
    secret = slack.signing_secret.get_secret_value() if slack.signing_secret else ""
    seen = SqlInboundLog(service.core.store.engine)
    team = service.team
    service.slack_app = build_app(
        service.conversation,
        client,
        secret,
        pacer,
        seen,
        buttons=team.buttons if team else None,
        home=team.home if team else None,
    )
    if team is not None:
        managers = service.core.settings.team.slack_managers
        team.authorities["slack"] = SlackMembership(client, managers)


def _add_telegram(service: Service) -> None:
    """Telegram's application (not started: getMe is the platform runner's job)."""
    telegram = service.core.settings.telegram
    if telegram.bot_token is None:
        return
    token = telegram.bot_token.get_secret_value()
    seen = SqlInboundLog(service.core.store.engine)
    team = service.team
    application = build_application(
        token,
        telegram.api_url,
        service.conversation,
        telegram_poster,
        seen,
        buttons=team.buttons if team else None,
    )
    service.telegram = application
    service.posters["telegram"] = shared_poster(application)
    if team is not None:
        team.authorities["telegram"] = TelegramAdmins(application.bot)


async def health(request: Request) -> JSONResponse:
    """200 while the database answers (the only hard dependency), with each platform's state.

    A degraded platform does not make the process unhealthy: the others, the pages and the
    scheduler run on, and it recovers by itself. Reasons shown carry no secret.
    """
    service: Service = request.app.state.service
    try:
        async with service.core.store.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means unhealthy
        # Host, port and user help an attacker: the probe's caller sees a status only.
        _log.warning("healthz: the database did not answer: %s: %s", type(exc).__name__, exc)
        return JSONResponse({"ok": False, "database": "unavailable"}, status_code=503)
    platforms = {name: r.status.as_json() for name, r in service.platforms.items()}
    body = {"ok": True, "database": "ok", "subscriptions": len(service.subscriptions)}
    return JSONResponse(body | {"platforms": platforms})


def web_app(service: Service, *, pages: bool = True) -> Starlette:
    """The web process: health, metrics, Slack's HTTP endpoint, Telegram's webhook, pages.

    Every route sits behind adapters.web.limits (body cap, sane URLs, security headers).
    `pages=False` (the clock's METRICS_PORT) serves health and metrics only.
    """
    routes: list[BaseRoute] = [Route("/healthz", health)]
    if service.metrics is not None:
        token = service.core.settings.web.metrics_token
        routes.append(metrics_route(service.metrics, token.get_secret_value() if token else None))
    if pages:
        routes += _chat_routes(service)
        votes = service.team.votes if service.team else None
        routes += ReportRoutes(service.core.store, service.core.signer, votes).routes()
    app = guarded_app(routes)
    app.state.service = service
    return app


def _chat_routes(service: Service) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    signing = service.core.settings.slack.signing_secret
    if service.slack_app is not None and signing is not None:
        # Checked before Bolt parses the body: unsigned requests never reach it.
        endpoint = signed_only(http_endpoint(service.slack_app), signing.get_secret_value())
        routes.append(Route("/slack/events", endpoint, methods=["POST"]))
    telegram = service.core.settings.telegram
    if service.telegram is not None and telegram.webhook_secret is not None:
        hook = webhook_endpoint(service.telegram, telegram.webhook_secret.get_secret_value())
        routes.append(Route("/telegram/webhook", hook, methods=["POST"]))
    return routes


class _Server(uvicorn.Server):
    # We install our own SIGTERM handling, so the clock stops with the web server.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


@dataclass(frozen=True)
class Roles:
    """What a process runs: the web pages and chat endpoints, the clock, and on which port."""

    port: int | None
    web: bool
    clock: bool
    policy: StartPolicy | None = None


async def serve(service: Service, roles: Roles, *, now: datetime) -> None:
    """Run the roles asked for until SIGTERM, then stop within Heroku's 30 s.

    Nothing here waits for a chat platform: each starts (and retries) in the background.
    """
    stop = asyncio.Event()
    _on_signals(stop)
    server = None
    if roles.port is not None:
        config = server_config(web_app(service, pages=roles.web), "0.0.0.0", roles.port)
        server = _Server(config)
    service.start_platforms(web=roles.web, clock=roles.clock, policy=roles.policy)
    running = Clock(service) if roles.clock else None
    if running is not None:
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
