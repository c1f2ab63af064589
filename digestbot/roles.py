"""The long-running roles (web, clock, run, worker) and the one-shot `post`, behind the CLI."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta

from bot.config import Settings
from bot.daily import DailyResult, describe_result
from bot.days import parse_day
from bot.errors import ConfigError
from bot.subscriptions import Subscription, load_subscriptions
from bot.telemetry import install
from digestbot.metrics import PrometheusSink
from digestbot.service import Roles, Service, open_service, serve
from digestbot.wiring import open_core, warn

EXIT_POSTED = 0
EXIT_FAILED = 1
EXIT_BUSY = 75  # EX_TEMPFAIL (sysexits.h): another live process holds the post; try again later


def subscriptions_of(args: argparse.Namespace) -> tuple[Subscription, ...]:
    """The `[[subscription]]` tables of the config file (none without a file)."""
    return load_subscriptions(args.config) if args.config else ()


async def run_role(args: argparse.Namespace, settings: Settings) -> int:
    """Start a role; returns the exit status."""
    subscriptions = subscriptions_of(args)
    chosen = _chosen(args, subscriptions) if args.command == "post" else None
    roles = None if chosen is not None else roles_of(args.command, getattr(args, "port", None))
    core = await open_core(settings)
    if core.analyzer_note:
        warn(core.analyzer_note)
    try:
        service = await open_service(core, subscriptions)  # calls no chat platform
    except BaseException:
        await core.close()
        raise
    if chosen is not None:
        try:
            return await _post(args, service, chosen)
        finally:
            await service.close()
    if args.command == "worker":
        from digestbot.queue import work

        return await work(service)
    assert roles is not None
    service.metrics = PrometheusSink()
    service.metrics.known_platforms(service.posters)
    uninstall = install(service.metrics)
    try:
        async with _queued(service, roles.clock):
            await serve(service, roles, now=datetime.now(UTC))
    finally:
        uninstall()
    return 0


def _queued(service: Service, clock: bool) -> AbstractAsyncContextManager[None]:
    """With a queue configured, the clock's firings enqueue jobs for `digestbot worker`."""
    if not (clock and service.core.settings.queue.enabled):
        return contextlib.nullcontext()
    from digestbot.queue import enqueue_firings

    return enqueue_firings(service)


def roles_of(command: str, port: int | None, env: Mapping[str, str] = os.environ) -> Roles:
    """What `web`, `clock` and `run` start.

    The clock has no port of its own: with METRICS_PORT it serves /healthz and /metrics there.
    """
    web = command in ("web", "run")
    clock = command in ("clock", "run")
    if not web:
        port = _metrics_port(env.get("METRICS_PORT", ""))
    return Roles(port, web=web, clock=clock)


def _metrics_port(value: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"METRICS_PORT is {value!r}: use a port number (1-65535)")
    return int(value)


def _chosen(args: argparse.Namespace, subscriptions: tuple[Subscription, ...]) -> Subscription:
    found = next((s for s in subscriptions if s.name == args.subscription), None)
    if found is None:
        known = ", ".join(s.name for s in subscriptions) or "none (pass --config)"
        raise ConfigError(f"no subscription named {args.subscription!r}; known: {known}")
    return found


async def _post(args: argparse.Namespace, service: Service, subscription: Subscription) -> int:
    day = parse_day(args.date, subscription.tz)
    if day is None:
        raise ConfigError("post needs a day: yesterday, today or YYYY-MM-DD")
    try:
        results = await service.post(subscription, day + timedelta(days=1))
    except LookupError as exc:
        warn(str(exc))
        return EXIT_FAILED
    return post_status(day.isoformat(), results)


def post_status(day: str, results: list[DailyResult]) -> int:
    """Say what `post` did, one line per repository; the exit status a script can act on."""
    failed = busy = False
    for result in results:
        if result.error is not None:
            warn(f"{day} {describe_result(result)}")
            failed = True
        elif result.busy:
            warn(f"{day} {_busy_line(result)}")
            busy = True
        else:
            print(f"{day} {describe_result(result)}")
    return EXIT_FAILED if failed else EXIT_BUSY if busy else EXIT_POSTED


def _busy_line(result: DailyResult) -> str:
    until = result.outcome.busy_until if result.outcome else None
    when = f" (or, if it stopped, after {until:%H:%M:%S} UTC)" if until else ""
    return f"{result.repo}: another process is posting this now; it will complete it{when}"
