"""Real kill -9: a `digestbot clock` process killed mid-thread, then started again.

A message of the day's post (Slack's 4th; Telegram's 2nd, as it packs the analyses into few) is
accepted by the emulator but its answer is held back two seconds; the clock process is killed
(SIGKILL) in that window, so its last message is sent and never recorded: the worst moment.
A new `digestbot clock` is started at once (its catch-up finds the post held, waits for the
dead process's lease, then completes it) or after the lease.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.delivery import DEFAULT_LEASE
from tests.emulators.loopback import Fault, LoopbackServer
from tests.emulators.slack_api import SlackEmulator
from tests.emulators.telegram_api import TelegramEmulator
from tests.gitrepo import GitRepo

CHANNEL, GROUP = "CKILL", "-100777"
COMMITS = 24
KILL_AT = {"slack": 4, "telegram": 2}  # the message whose answer the kill cuts off


def _repo(path: Path) -> GitRepo:
    """A day of commits yesterday (UTC), the day the clock's catch-up posts."""
    repo = GitRepo(path)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(hour=8, minute=0, second=0)
    for i in range(COMMITS):
        body = f"Change {i}.\n\n" + "Why it matters: " + "details " * 40
        files = {f"src/module_{i}.py": "x = 1\n" * (i + 1)}
        repo.commit(f"feat: change {i}\n\n{body}", yesterday + timedelta(minutes=i), files)
    return repo


def _config(tmp: Path, repo: GitRepo, platform: str) -> Path:
    where = f'slack_channel = "{CHANNEL}"' if platform == "slack" else f"telegram_chat = {GROUP}"
    path = tmp / "digestbot.toml"
    path.write_text(
        f'[[subscription]]\nname = "team"\nrepos = ["{repo.path}"]\n{where}\n'
        'time = "00:00"\ntz = "UTC"\nlowest_reply = "low"\n',
        encoding="utf-8",
    )
    return path


def _env(emulator: LoopbackServer, database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_"))}
    env |= {"DATABASE_URL": database, "PYTHONUNBUFFERED": "1", "OPENAI_API_KEY": ""}
    if isinstance(emulator, SlackEmulator):
        return env | {"SLACK_BOT_TOKEN": emulator.token, "SLACK_API_URL": emulator.api_url}
    assert isinstance(emulator, TelegramEmulator)
    return env | {"TELEGRAM_BOT_TOKEN": emulator.token, "TELEGRAM_API_URL": emulator.api_url}


def _bot_messages(emulator: LoopbackServer) -> list[tuple[str, str]]:
    if isinstance(emulator, SlackEmulator):
        return [
            (str(((p.metadata or {}).get("event_payload") or {}).get("part")), "")
            for p in emulator.ours(CHANNEL)
        ]
    assert isinstance(emulator, TelegramEmulator)
    return [(s.html, str(s.reply_to or "")) for s in emulator.in_chat(GROUP)]


def _posted(database: str) -> bool:
    import sqlite3

    path = database.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        states = [r[0] for r in conn.execute("SELECT state FROM deliveries")]
    return bool(states) and all(s == "done" for s in states)


def _clock(config: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "digestbot", "clock", "--config", str(config)]
    return subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


async def _until(condition: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("the post did not complete")
        await asyncio.sleep(0.1)


async def kill_case(platform: str, *, after_lease: bool) -> str:
    """One real kill and restart; the table row."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        config = _config(tmp, _repo(tmp / "repo"), platform)
        database = f"sqlite:///{tmp}/kill.sqlite3"
        emulator: LoopbackServer = SlackEmulator() if platform == "slack" else TelegramEmulator()
        path = "chat.postMessage" if platform == "slack" else "sendMessage"
        with emulator:
            at = KILL_AT[platform]
            emulator.fail(Fault(None, path_contains=path, skip=at - 1, after=True, delay=2.0))
            env = _env(emulator, database)
            first = _clock(config, env)
            try:
                await _until(lambda: len(_bot_messages(emulator)) >= at, 120)
            finally:  # sent, its answer held back: now (or, if the wait failed, anyway)
                first.send_signal(signal.SIGKILL)
                first.wait()
            killed_at = time.monotonic()
            if after_lease:
                await asyncio.sleep(DEFAULT_LEASE.total_seconds() + 1)
            second = _clock(config, env)
            try:
                await _until(lambda: _posted(database), 600)
            finally:
                second.send_signal(signal.SIGTERM)
                try:
                    second.wait(30)
                except subprocess.TimeoutExpired:
                    second.kill()
            seconds = time.monotonic() - killed_at
            counts = Counter(_bot_messages(emulator))
        dups = sum(n - 1 for n in counts.values())
        when = "after the lease" if after_lease else "at once"
        fault = f"real kill -9, restart {when}"
        return (
            f"{platform:<9} {fault:<37} {sum(counts.values()):>8} {len(counts):>8} {dups:>4} "
            f"{'-':>4} {seconds:>7.1f}  yes"
        )


async def kill_cases() -> list[str]:
    """Both platforms, restarted at once and after the lease."""
    return [
        await kill_case(platform, after_lease=after)
        for platform in ("slack", "telegram")
        for after in (False, True)
    ]
