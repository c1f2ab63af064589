"""The process roles: `digestbot post` against the Slack emulator, and `run` stopping on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digestbot.cli import main
from tests.emulators.slack_api import SlackEmulator
from tests.gitrepo import GitRepo

TZ = ZoneInfo("Europe/Paris")
LEASE = timedelta(minutes=1)


def config(tmp_path: Path, repo: GitRepo, time_of_day: str = "08:00") -> Path:
    path = tmp_path / "digestbot.toml"
    path.write_text(
        f"""
[[subscription]]
name = "team"
repos = ["{repo.path}"]
slack_channel = "CTEAM"
tz = "Europe/Paris"
time = "{time_of_day}"
lowest_reply = "low"
""",
        encoding="utf-8",
    )
    return path


def three_commits(repo: GitRepo) -> None:
    for hour, title in ((9, "feat: a"), (10, "fix: b"), (11, "docs: c")):
        repo.commit(title, datetime(2026, 3, 2, hour, tzinfo=TZ), {f"src/{hour}.py": "x = 1\n"})


def test_post_backfills_a_day_once(
    tmp_path: Path,
    repo: GitRepo,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    three_commits(repo)
    path = config(tmp_path, repo)
    with SlackEmulator() as slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
        monkeypatch.setenv("SLACK_API_URL", slack.api_url)
        args = ["post", "--subscription", "team", "--date", "2026-03-02"]
        args += ["--config", str(path), "--database", database_url]
        assert main(args) == 0
        first = capsys.readouterr().out
        assert main(args) == 0
        second = capsys.readouterr().out
        assert main([*args[:2], "nobody", *args[3:]]) == 2
        unknown = capsys.readouterr().err
        posted = len(slack.posted)
    assert "2026-03-02 repo: 3 commits, posted, 4 messages sent" in first  # summary + 3 replies
    assert "2026-03-02 repo: 3 commits, already posted, 0 messages sent" in second
    assert posted == 4
    assert "no subscription named 'nobody'; known: team" in unknown


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_serves_health_and_stops_cleanly_on_sigterm(
    tmp_path: Path, repo: GitRepo, database_url: str
) -> None:
    three_commits(repo)
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_", "OPENAI_"))
    }
    path = config(tmp_path, repo, "00:00")
    command = [sys.executable, "-m", "digestbot", "run", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--config", str(path), "--database", database_url],
        env={**env, "PYTHONUNBUFFERED": "1"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = None
        deadline = time.monotonic() + 120  # a hang guard for a busy machine, not a budget
        while health is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz", timeout=5
                ) as answer:
                    health = json.loads(answer.read())
                break
            except OSError:
                time.sleep(0.1)
        assert health == {"ok": True, "database": "ok", "subscriptions": 1, "platforms": {}}
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)  # the platform's SIGKILL comes at 30 s
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert (
        "team: slack is not configured" in stderr
    )  # the catch-up ran and said why it could not post


async def test_the_web_app_serves_slack_telegram_and_health_from_one_process(
    tmp_path: Path, repo: GitRepo, database_url: str
) -> None:
    import httpx

    from bot.config import load_settings
    from bot.subscriptions import load_subscriptions
    from digestbot.service import open_service, web_app
    from digestbot.wiring import open_core
    from tests.emulators.telegram_api import TelegramEmulator

    three_commits(repo)
    with SlackEmulator() as slack, TelegramEmulator() as telegram:
        env = {
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_SIGNING_SECRET": "sign",
            "SLACK_API_URL": slack.api_url,
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_API_URL": telegram.api_url,
            "TELEGRAM_WEBHOOK_SECRET": "hook",
        }
        core = await open_core(load_settings(env))
        service = await open_service(core, load_subscriptions(config(tmp_path, repo)))
        try:
            transport = httpx.ASGITransport(app=web_app(service))
            async with httpx.AsyncClient(transport=transport, base_url="http://web") as web:
                health = await web.get("/healthz")
                slack_answer = await web.post("/slack/events", content="command=/digest")
                telegram_answer = await web.post("/telegram/webhook", json={"update_id": 1})
                report = await web.get("/repos/repo")
        finally:
            await service.close()
    assert health.json() == {
        "ok": True,
        "database": "ok",
        "subscriptions": 1,
        "platforms": {},  # built, not started: web_app alone starts no platform
    }
    assert slack_answer.status_code == 401  # unsigned
    assert telegram_answer.status_code == 403  # no secret token
    assert report.status_code == 403  # private by default: a signed link is needed


def post_args(path: Path, database_url: str) -> list[str]:
    args = ["post", "--subscription", "team", "--date", "2026-03-02"]
    return [*args, "--config", str(path), "--database", database_url]


@pytest.fixture
def team(tmp_path: Path, repo: GitRepo, database_url: str) -> list[str]:
    """`post` arguments for a subscription posting three commits to #CTEAM."""
    three_commits(repo)
    return post_args(config(tmp_path, repo), database_url)


@pytest.fixture
def slack_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackEmulator]:
    with SlackEmulator() as slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
        monkeypatch.setenv("SLACK_API_URL", slack.api_url)
        yield slack


def test_a_refused_post_exits_1_with_one_line_and_a_rerun_completes_at_once(
    team: list[str], slack_env: SlackEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.emulators.loopback import Fault

    args, slack = team, slack_env
    refused = {"ok": False, "error": "not_in_channel"}
    slack.fail(Fault(200, refused, path_contains="chat.postMessage", skip=2))
    assert main(args) == 1
    failed = capsys.readouterr()
    assert main(args) == 0  # the bot was invited: run again, at once
    rerun = capsys.readouterr()
    posted = len(slack.posted)
    said = [line for line in failed.err.splitlines() if "no model configured" not in line]
    assert said == [
        "digestbot: 2026-03-02 repo: posted 2 of 4 messages to #CTEAM: Slack said "
        "not_in_channel (invite the bot with /invite @digestbot); run again to complete"
    ]
    assert failed.out == ""
    assert "repo: 3 commits, completed an interrupted post, 2 messages sent" in rerun.out
    assert posted == 4


def test_a_post_held_by_a_live_process_exits_75(
    team: list[str],
    slack_env: SlackEmulator,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import asyncio

    from bot.storage.database import create_engine
    from bot.storage.delivery_store import SqlDeliveryLog

    args, slack = team, slack_env
    slack.not_in.add("CTEAM")
    assert main(args) == 1  # leaves a released claim behind
    capsys.readouterr()

    async def held_elsewhere() -> None:  # another live process takes the post
        engine = create_engine(database_url)
        log = SqlDeliveryLog(engine)
        async with engine.connect() as conn:
            key = (await conn.exec_driver_sql("SELECT key FROM deliveries")).scalar_one()
        claim = await log.claim(key, "web-1:1:abcd", datetime.now(ZoneInfo("UTC")), LEASE)
        assert claim.owned
        await engine.dispose()

    asyncio.run(held_elsewhere())
    slack.not_in.clear()
    assert main(args) == 75
    busy = capsys.readouterr()
    assert slack.posted == []
    assert "repo: another process is posting this now; it will complete it" in busy.err
    assert "Traceback" not in busy.err


def test_two_processes_sharing_host_and_pid_never_share_a_claim(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from digestbot.wiring import process_owner

    monkeypatch.setattr(os, "getpid", lambda: 1)  # pid 1 in two containers named alike
    monkeypatch.setattr(socket, "gethostname", lambda: "web")
    first, second = process_owner(), process_owner()
    assert first.startswith("web:1:") and second.startswith("web:1:")
    assert first != second


def test_a_group_upgraded_to_a_supergroup_is_named_and_the_claim_let_go(
    tmp_path: Path,
    repo: GitRepo,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.emulators.telegram_api import TelegramEmulator

    three_commits(repo)
    path = config(tmp_path, repo)
    path.write_text(
        path.read_text().replace('slack_channel = "CTEAM"', "telegram_chat = -100123"),
        encoding="utf-8",
    )
    args = post_args(path, database_url)
    with TelegramEmulator() as telegram:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", telegram.token)
        monkeypatch.setenv("TELEGRAM_API_URL", telegram.api_url)
        telegram.migrated["-100123"] = -1009876
        assert main(args) == 1
        first = capsys.readouterr().err
        assert main(args) == 1  # not "busy elsewhere": the failed run let go of its claim
        second = capsys.readouterr().err
    line = (
        "digestbot: 2026-03-02 repo: posted 0 of 2 messages to telegram chat -100123: Telegram "
        "says group -100123 was upgraded to a supergroup with the new id -1009876 (set "
        "telegram_chat = -1009876 in the subscription); run again to complete"
    )
    assert line in first.splitlines() and line in second.splitlines()
    assert "Traceback" not in first + second


async def test_the_daily_post_and_a_command_in_one_channel_share_one_pacer(
    tmp_path: Path, repo: GitRepo, database_url: str
) -> None:
    import asyncio
    from datetime import date
    from urllib.parse import urlencode

    import httpx
    from slack_sdk.signature import SignatureVerifier

    from bot.config import load_settings
    from bot.subscriptions import load_subscriptions
    from digestbot.service import open_service, web_app
    from digestbot.wiring import open_core
    from tests.emulators.loopback import RateWindow

    three_commits(repo)
    with SlackEmulator() as slack:
        slack.channel_rate = RateWindow(1, 0.7)  # the channel refuses a 2nd message within 0.7 s
        env = {
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_SIGNING_SECRET": "sign",
            "SLACK_API_URL": slack.api_url,
        }
        core = await open_core(load_settings(env))
        subscription = load_subscriptions(config(tmp_path, repo))[0]
        service = await open_service(core, (subscription,))
        body = urlencode(
            {"command": "/digest", "text": "2026-03-02", "channel_id": "CTEAM", "user_id": "U1"}
            | {"team_id": "T1", "trigger_id": "T-9", "response_url": slack.response_url("T-9")}
        )
        stamp = str(int(time.time()))
        signature = SignatureVerifier("sign").generate_signature(timestamp=stamp, body=body)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        headers |= {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": str(signature)}
        try:
            transport = httpx.ASGITransport(app=web_app(service))
            async with httpx.AsyncClient(transport=transport, base_url="http://web") as web:
                await asyncio.gather(
                    service.post(subscription, date(2026, 3, 3)),
                    web.post("/slack/events", content=body, headers=headers),
                )
                deadline = time.monotonic() + 60
                while len(slack.ours("CTEAM")) < 8:  # two posts of four messages
                    assert time.monotonic() < deadline, len(slack.ours("CTEAM"))
                    await asyncio.sleep(0.05)
        finally:
            await service.close()
    assert len([p for p in slack.ours("CTEAM") if p.thread_ts is None]) == 2
    assert slack.rate_limited == 0  # one pacer spaced both posts' messages in the channel
