"""One platform's outage never stops the others, the pages or the scheduler; each recovers alone."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.signature import SignatureVerifier

from adapters.slack.app import build_app, slack_client, slack_pacer
from adapters.telegram.app import build_application, telegram_poster
from bot.config import load_settings
from bot.errors import ChatError
from bot.storage.inbound_store import SqlInboundLog
from bot.storage.sql_store import SqlStore
from bot.subscriptions import load_subscriptions
from bot.telemetry import CommandAnswered, Event, install
from digestbot.chat_starts import SlackStart, TelegramStart
from digestbot.cli import main
from digestbot.platforms import PlatformRunner, StartPolicy
from digestbot.service import Service, open_service
from digestbot.wiring import open_core
from scheduler.clock import Backoff, DailyClock
from tests.chat_fixtures import conversation, hostile_day
from tests.emulators.loopback import Request, Response
from tests.emulators.slack_api import SlackEmulator
from tests.emulators.telegram_api import TelegramEmulator
from tests.gitrepo import GitRepo
from tests.served import Served, clean_env, served, wait_for
from tests.test_roles import config as roles_config
from tests.waiting import until

TZ = ZoneInfo("Europe/Paris")
FAST = StartPolicy(first=0.02, cap=0.1, refused=3600.0, watch=0.02)


class SwitchableTelegram(TelegramEmulator):
    """Telegram behind a proxy that answers 502 (an HTML page, as proxies do) while `down`."""

    down = True

    def handle(self, request: Request) -> Response:
        if self.down:
            return Response(502, "<html><body>502 Bad Gateway</body></html>")
        return super().handle(request)

    def calls(self, method: str) -> int:
        return sum(1 for r in self.requests if r.path.endswith(f"/{method}"))


def commits_on(repo: GitRepo, day: date) -> None:
    for hour, title in ((9, "feat: a"), (10, "fix: b"), (11, "docs: c")):
        when = datetime(day.year, day.month, day.day, hour, tzinfo=TZ)
        repo.commit(title, when, {f"src/{hour}.py": f"x = {hour}\n"})


def config(tmp_path: Path, repo: GitRepo, where: str, time_of_day: str = "08:00") -> Path:
    """tests.test_roles' subscription, posting `where` (a slack_channel or telegram_chat)."""
    path = roles_config(tmp_path, repo, time_of_day)
    path.write_text(path.read_text().replace(SLACK_CHANNEL, where), encoding="utf-8")
    return path


SLACK_CHANNEL = 'slack_channel = "CTEAM"'


def health(base: str) -> dict[str, object]:
    with urllib.request.urlopen(base + "/healthz", timeout=30) as answer:
        assert answer.status == 200
        body: dict[str, object] = json.loads(answer.read())
        return body


def state(base: str, platform: str) -> str:
    platforms = health(base)["platforms"]
    assert isinstance(platforms, dict)
    return str(platforms.get(platform, {}).get("state"))


def signed_command(text: str, trigger: str, slack: SlackEmulator) -> tuple[bytes, dict[str, str]]:
    body = urlencode(
        {"command": "/digest", "text": text, "channel_id": "CTEAM", "user_id": "U1"}
        | {"team_id": "T1", "trigger_id": trigger, "response_url": slack.response_url(trigger)}
    )
    stamp = str(int(time.time()))
    signature = SignatureVerifier("sign").generate_signature(timestamp=stamp, body=body)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    headers |= {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": str(signature)}
    return body.encode(), headers


def send_command(web: Served, slack: SlackEmulator, text: str, trigger: str) -> int:
    body, headers = signed_command(text, trigger, slack)
    request = urllib.request.Request(web.base + "/slack/events", data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return int(answer.status)


def platform_vars(slack: SlackEmulator, telegram: TelegramEmulator) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": "sign",
        "SLACK_API_URL": slack.api_url,
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.api_url,
    }


def platform_env(slack: SlackEmulator, telegram: TelegramEmulator, **extra: str) -> dict[str, str]:
    return clean_env(**platform_vars(slack, telegram), **extra)


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def test_web_serves_slack_and_pages_while_telegram_is_down_then_telegram_starts_by_itself(
    tmp_path: Path, repo: GitRepo, database_url: str
) -> None:
    commits_on(repo, date(2026, 3, 2))
    path = config(tmp_path, repo, SLACK_CHANNEL)
    with SlackEmulator() as slack, SwitchableTelegram() as telegram:
        env = platform_env(slack, telegram, DIGESTBOT_CONFIG=str(path))
        with served("web", env, database_url, tmp_path) as web:
            wait_for(lambda: state(web.base, "telegram") == "degraded")
            wait_for(lambda: state(web.base, "slack") == "ok")
            down = health(web.base)
            assert send_command(web, slack, "2026-03-02", "T-1") == 200
            wait_for(lambda: len(slack.ours("CTEAM")) >= 4)  # the digest and its thread
            page = status_of(web.base + "/repos/repo")
            telegram.down = False
            wait_for(lambda: state(web.base, "telegram") == "ok")
        log = web.log()
    assert down["platforms"] == {
        "slack": {"state": "ok"},
        "telegram": {"state": "degraded", "reason": "Telegram failed: Bad Gateway (502)"},
    }
    assert page == 403  # the report pages answer (private without a signed link)
    assert telegram.calls("setMyCommands") == 1  # started once it came back
    assert "telegram: degraded: Telegram failed: Bad Gateway (502); start attempt 1" in log
    assert "telegram: recovered, started after" in log
    assert "Traceback" not in log and telegram.token not in log


def test_run_with_telegram_unreachable_posts_the_slack_day_and_stops_cleanly(
    tmp_path: Path, repo: GitRepo, database_url: str
) -> None:
    yesterday = datetime.now(TZ).date() - timedelta(days=1)
    commits_on(repo, yesterday)
    path = config(tmp_path, repo, SLACK_CHANNEL, "00:00")  # catch-up posts yesterday at start
    with TelegramEmulator() as stopped:
        pass  # its port now refuses every connection, like a Telegram that is down
    with SlackEmulator() as slack:
        env = platform_env(slack, stopped, DIGESTBOT_CONFIG=str(path))
        with served("run", env, database_url, tmp_path) as running:
            wait_for(lambda: len(slack.ours("CTEAM")) >= 4)  # the clock posted, polling failed
            wait_for(lambda: state(running.base, "telegram") == "degraded")
            reason = health(running.base)["platforms"]
        log = running.log()
    assert running.process.returncode == 0  # SIGTERM: a clean stop with Telegram still down
    assert reason == {
        "slack": {"state": "ok"},
        "telegram": {"state": "degraded", "reason": "could not reach Telegram (ConnectError)"},
    }
    assert "Traceback" not in log


def test_a_slack_post_never_touches_telegram(
    tmp_path: Path,
    repo: GitRepo,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    commits_on(repo, date(2026, 3, 2))
    path = config(tmp_path, repo, SLACK_CHANNEL)
    with SlackEmulator() as slack, SwitchableTelegram() as telegram:
        for key, value in platform_vars(slack, telegram).items():
            monkeypatch.setenv(key, value)
        args = ["post", "--subscription", "team", "--date", "2026-03-02"]
        status = main([*args, "--config", str(path), "--database", database_url])
    assert status == 0, capsys.readouterr().err
    assert len(slack.ours("CTEAM")) == 4
    assert telegram.requests == []  # not even getMe


async def started_service(
    tmp_path: Path, repo: GitRepo, database_url: str, env: dict[str, str], where: str
) -> Service:
    settings = load_settings({"DATABASE_URL": database_url, **env})
    subscriptions = load_subscriptions(config(tmp_path, repo, where))
    return await open_service(await open_core(settings), subscriptions)


async def test_each_platform_starts_on_its_own_with_the_injected_backoff(
    tmp_path: Path, repo: GitRepo, database_url: str
) -> None:
    commits_on(repo, date(2026, 3, 2))
    with SlackEmulator() as slack, SwitchableTelegram() as telegram:
        env = {
            k: v for k, v in platform_env(slack, telegram).items() if k[:5] in ("SLACK", "TELEG")
        }
        service = await started_service(tmp_path, repo, database_url, env, SLACK_CHANNEL)
        try:
            service.start_platforms(web=True, clock=False, policy=FAST)
            slack_up = service.platforms["slack"]
            await until(lambda: slack_up.status.state == "ok")
            failed = await_failures(telegram, 3)
            await until(failed)
            assert service.platforms["telegram"].status.state == "degraded"
            telegram.down = False
            await until(lambda: service.platforms["telegram"].status.state == "ok")
        finally:
            await service.close()
    assert telegram.calls("getMe") >= 4  # three 502s, then the one that started it


def await_failures(telegram: SwitchableTelegram, count: int) -> Callable[[], bool]:
    return lambda: telegram.calls("getMe") >= count


class Sleeps:
    """An injected sleep: records each wait, and can hold the caller until released."""

    def __init__(self, hold_after: int | None = None) -> None:
        self.waits: list[float] = []
        self._hold_after = hold_after
        self.release = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self._hold_after is not None and len(self.waits) >= self._hold_after:
            await self.release.wait()


async def test_transient_failures_back_off_exponentially_to_the_cap() -> None:
    outcomes: list[Exception | None] = [ChatError(f"down {i}") for i in range(5)] + [None]

    async def start() -> None:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    sleeps = Sleeps()
    policy = StartPolicy(first=1.0, cap=5.0)
    runner = PlatformRunner("slack", start, policy=policy, sleep=sleeps)
    await runner.run()
    assert sleeps.waits == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert runner.status.state == "ok" and runner.status.reason == ""


async def test_a_refused_token_is_degraded_with_the_reason_and_not_hammered(
    store: SqlStore,
) -> None:
    with SlackEmulator() as slack, TelegramEmulator() as telegram:
        runners, sleeps = await refused_runners(store, slack, telegram)
        assert slack.calls("auth.test") == 1 and telegram_calls(telegram, "getMe") == 1
        for runner in runners:
            await runner.stop()
    assert [r.status.as_json() for r in runners] == [
        {
            "state": "degraded",
            "reason": "Slack refused SLACK_BOT_TOKEN (invalid_auth): check it, or reinstall "
            "the app and update it",
        },
        {
            "state": "degraded",
            "reason": "Telegram refused TELEGRAM_BOT_TOKEN (or TELEGRAM_API_URL is not a Bot "
            "API server): check both",
        },
    ]
    assert [s.waits for s in sleeps] == [[3600.0], [3600.0]]  # an hour, not every second


async def refused_runners(
    store: SqlStore, slack: SlackEmulator, telegram: TelegramEmulator
) -> tuple[list[PlatformRunner], list[Sleeps]]:
    """Slack and Telegram runners with tokens the emulators refuse, held after one failure."""
    talk = conversation(store, hostile_day(1))
    seen = SqlInboundLog(store.engine)
    client = slack_client("xoxb-wrong", slack.api_url)
    app = build_app(talk, client, "sign", slack_pacer(), seen)
    application = build_application("1:wrong", telegram.api_url, talk, telegram_poster, seen)
    starts: list[Callable[[], Awaitable[None]]] = [
        SlackStart(client, app, None),
        TelegramStart(application, polling=False, webhook_url=None, secret=None),
    ]
    sleeps = [Sleeps(hold_after=1), Sleeps(hold_after=1)]
    runners = [
        PlatformRunner(name, start, policy=FAST, sleep=sleep)
        for name, start, sleep in zip(("slack", "telegram"), starts, sleeps, strict=True)
    ]
    for runner in runners:
        runner.launch()
    await until(lambda: all(s.waits for s in sleeps))
    return runners, sleeps


def telegram_calls(telegram: TelegramEmulator, method: str) -> int:
    return sum(1 for r in telegram.requests if r.path.endswith(f"/{method}"))


async def test_a_daily_post_to_telegram_while_it_is_down_is_retried_until_it_goes_out(
    tmp_path: Path, repo: GitRepo, database_url: str
) -> None:
    commits_on(repo, date(2026, 3, 2))
    with SwitchableTelegram() as telegram:
        env = {"TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_URL": telegram.api_url}
        where = "telegram_chat = -100123"
        service = await started_service(tmp_path, repo, database_url, env, where)
        waits: list[float] = []

        async def sleep(seconds: float) -> None:  # the clock's backoff: Telegram is back
            waits.append(seconds)
            telegram.down = False

        subscription = service.subscriptions[0]
        backoff = Backoff(first=0.01, cap=0.01)
        clock = DailyClock(service.subscriptions, service.post, backoff=backoff, sleep=sleep)
        try:
            complete = await clock.complete(subscription, date(2026, 3, 3))
        finally:
            await service.close()
    assert complete and waits == [0.01]  # one failed attempt, retried by the clock
    assert len(telegram.in_chat("-100123")) == 2  # the summary and its thread, once
    assert telegram.calls("getMe") == 0  # posting needs no start-up


async def test_polling_failures_degrade_telegram_until_they_stop() -> None:
    from telegram.error import NetworkError

    now = [100.0]
    start = TelegramStart(
        None,  # type: ignore[arg-type]
        polling=True,
        webhook_url=None,
        secret=None,
        clock=lambda: now[0],
    )
    assert await start.check() is None
    start.polling_failed(NetworkError("Bad Gateway (502)"))
    down = await start.check()
    now[0] += 120  # PTB retries at least every 30 s: two quiet minutes mean it is through
    assert down == "polling fails: Telegram failed: Bad Gateway (502)"
    assert await start.check() is None


@dataclass
class Listener:
    """A telemetry sink that keeps every event (to wait on one)."""

    events: list[Event]

    def record(self, event: Event) -> None:
        self.events.append(event)


async def test_socket_mode_starts_in_the_background_and_shows_a_lost_connection(
    store: SqlStore, slack: SlackEmulator
) -> None:
    from aiohttp import web

    from adapters.pacing import Pacer
    from tests.socket_link import serve_link
    from tests.test_slack import CHANNEL, command_body

    opened: list[web.WebSocketResponse] = []

    async def link(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(timeout=0.5)  # the close handshake, when dropped
        opened.append(socket)
        await socket.prepare(request)
        await socket.send_json({"type": "hello", "num_connections": 1})
        payload = dict(parse_qsl(command_body("2026-02-19", trigger="T-7")))
        envelope = {"envelope_id": "env-7", "type": "slash_commands", "payload": payload}
        await socket.send_json(envelope | {"accepts_response_payload": True})
        async for _message in socket:
            pass
        return socket

    runner = await serve_link(slack, link)
    client = slack_client(slack.token, slack.api_url)
    app = build_app(
        conversation(store, hostile_day(6)), client, "sign", Pacer([]), SqlInboundLog(store.engine)
    )
    start = SlackStart(client, app, slack.app_token)
    platform = PlatformRunner("slack", start, check=start.check, policy=FAST)
    platform.launch()
    events: list[Event] = []
    stop_listening = install(Listener(events))
    try:
        await until(lambda: platform.status.state == "ok")
        # A command came over the socket, and its work (run by Bolt after the ack) is done.
        await until(lambda: any(isinstance(e, CommandAnswered) for e in events))
        assert len(slack.channel_messages(CHANNEL)) >= 2
        await opened[0].close()  # Slack drops the connection (the SDK reconnects by itself)
        await runner.cleanup()
        await until(lambda: platform.status.state == "degraded")
    finally:
        stop_listening()
        await platform.stop()
        await start.close()
    assert platform.status.reason == "the Socket Mode connection is down; the SDK is reconnecting"
    assert slack.calls("apps.connections.open") >= 1


async def test_a_refused_app_token_is_named_and_not_retried_soon(
    store: SqlStore, slack: SlackEmulator
) -> None:
    client = slack_client(slack.token, slack.api_url)
    app = build_app(
        conversation(store, hostile_day(1)),
        client,
        "sign",
        slack_pacer(),
        SqlInboundLog(store.engine),
    )
    sleeps = Sleeps(hold_after=1)
    platform = PlatformRunner(
        "slack", SlackStart(client, app, "xapp-wrong"), policy=FAST, sleep=sleeps
    )
    platform.launch()
    await until(lambda: bool(sleeps.waits))
    await platform.stop()
    assert platform.status.reason == (
        "Slack refused SLACK_APP_TOKEN (invalid_auth): check it, or reinstall the app and update it"
    )
    assert sleeps.waits == [FAST.refused] and slack.calls("apps.connections.open") == 1
