"""The queue (PostgreSQL): a firing enqueued once runs on `digestbot worker` and posts once.

Workers are real processes; GitHub, the model and Slack are the loopback emulators.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from importlib import metadata
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.config import QueueConfig
from bot.storage.database import sync_url
from bot.subscriptions import load_subscriptions
from digestbot.cli import main
from digestbot.queue import Enqueuer, migrate_queue, queue_app
from tests.emulators.environment import emulated_env
from tests.emulators.github_api import GitHubEmulator
from tests.emulators.loopback import Request, Response
from tests.emulators.openai_api import OpenAIEmulator
from tests.emulators.slack_api import Posted, SlackEmulator
from tests.test_github_source import day_commits

FIRED_ON = date(2026, 2, 20)  # posts 2026-02-19, the day `day_commits` fills
FAST = QueueConfig(backend="postgres", concurrency=2, heartbeat_seconds=0.5, stalled_seconds=2)


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):  # tests/run_suite.sh's second pass (CI: always)
        pytest.skip("the queue needs PostgreSQL: run on the suite's PostgreSQL pass")
    return database_url


class HeldModel(OpenAIEmulator):
    """Holds its first call until released, and says when that call arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = threading.Event()
        self.release = threading.Event()

    def handle(self, request: Request) -> Response:
        if not self.arrived.is_set():
            self.arrived.set()
            self.release.wait(timeout=120)
        return super().handle(request)


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "digestbot.toml"
    path.write_text(
        f"""
[queue]
concurrency = {FAST.concurrency}
heartbeat_seconds = {FAST.heartbeat_seconds}
stalled_seconds = {FAST.stalled_seconds}
lease_seconds = 2

[[subscription]]
name = "team"
repos = ["acme/app"]
slack_channel = "CTEAM"
tz = "America/New_York"
time = "08:00"
lowest_reply = "low"
""",
        encoding="utf-8",
    )
    return path


class Fleet:
    """Emulators, a config and `digestbot worker` processes against one database."""

    def __init__(self, url: str, tmp_path: Path, model: HeldModel) -> None:
        self.url = url
        self.config = write_config(tmp_path)
        self.github = GitHubEmulator().start()
        self.github.add_repo("acme/app", day_commits(6, files_each=2))
        self.slack = SlackEmulator().start()
        self.model = model.start()
        self.workers: list[subprocess.Popen[str]] = []

    def env(self) -> dict[str, str]:
        queue = {"PYTHONUNBUFFERED": "1", "DIGESTBOT_QUEUE": "postgres"}
        return {**os.environ, **queue, **emulated_env(self.github, self.model, self.slack)}

    def start_worker(self) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "digestbot", "worker", "--config", str(self.config)]
        worker = subprocess.Popen(
            [*command, "--database", self.url],
            env=self.env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        self.workers.append(worker)
        return worker

    async def fire(self, times: int = 1) -> None:
        subscription = load_subscriptions(self.config)[0]
        await migrate_queue(self.url)
        app = queue_app(self.url, FAST)
        async with app.open_async():
            for _ in range(times):
                await Enqueuer(app).fire(subscription, FIRED_ON)

    def jobs(self) -> list[tuple[str, str]]:
        engine = create_engine(sync_url(self.url))
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT task_name, status FROM procrastinate_jobs WHERE task_name <> :s"),
                    {"s": "digestbot.retry_stalled"},
                ).all()
        finally:
            engine.dispose()
        return sorted((str(r[0]), str(r[1])) for r in rows)

    def wait_until_done(self) -> None:
        """Until every job succeeded (successful jobs are deleted) and something was posted."""
        deadline = time.monotonic() + 300  # a hang guard, not a performance budget
        while self.jobs() or not self.slack.posted:
            assert time.monotonic() < deadline, f"jobs left: {self.jobs()}"
            assert all(w.poll() in (None, -signal.SIGKILL) for w in self.workers)
            time.sleep(0.2)

    def stop(self) -> list[str]:
        logs = []
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
            logs.append(worker.communicate(timeout=60)[1])
        for emulator in (self.github, self.slack, self.model):
            emulator.stop()
        return logs


@pytest.fixture
def fleet(postgres_url: str, tmp_path: Path) -> Iterator[Fleet]:
    running = Fleet(postgres_url, tmp_path, HeldModel())
    yield running
    running.stop()


def posted_once(messages: list[Posted]) -> list[str]:
    """The position markers of the messages posted: each post part must appear once."""
    markers = [m.metadata["event_payload"]["part"] for m in messages if m.metadata]
    assert len(markers) == len(messages)
    assert len(set(markers)) == len(markers), "a message was posted twice"
    return markers


def marker_positions(markers: list[str]) -> list[int]:
    return sorted(int(m.rsplit(":", 1)[1]) for m in markers)


def drain(fleet: Fleet, worker: subprocess.Popen[str]) -> str:
    """Wait for every job, stop the worker cleanly, and check each message was posted once."""
    fleet.wait_until_done()
    worker.send_signal(signal.SIGTERM)
    _, log = worker.communicate(timeout=60)
    assert worker.returncode == 0, log
    messages = fleet.slack.channel_messages("CTEAM")
    markers = posted_once(messages)
    assert marker_positions(markers) == list(range(len(messages)))  # every part, in order
    assert sum(m.thread_ts is None for m in messages) == 1  # one summary, the rest its thread
    return log


async def test_a_firing_enqueued_twice_is_built_and_posted_once_by_a_worker(fleet: Fleet) -> None:
    fleet.model.release.set()  # nothing held here
    await fleet.fire(times=2)
    assert fleet.jobs() == [("digestbot.build", "todo"), ("digestbot.post", "todo")]
    drain(fleet, fleet.start_worker())


async def test_a_worker_killed_mid_job_leaves_it_to_another_that_posts_once(
    fleet: Fleet,
) -> None:
    await fleet.fire()
    doomed = fleet.start_worker()
    assert fleet.model.arrived.wait(timeout=120)  # the doomed worker is mid-build, in a call
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=60)
    fleet.model.release.set()
    log = drain(fleet, fleet.start_worker())
    assert "goes back to the queue" in log  # the killed worker's jobs were retried


def test_a_worker_without_a_queue_says_how_to_configure_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite = f"sqlite:///{tmp_path / 'q.sqlite3'}"
    monkeypatch.delenv("DIGESTBOT_QUEUE", raising=False)
    assert main(["worker", "--database", sqlite]) == 2
    assert "digestbot worker needs a queue: set DIGESTBOT_QUEUE=postgres" in capsys.readouterr().err
    monkeypatch.setenv("DIGESTBOT_QUEUE", "postgres")
    assert main(["migrate", "--database", sqlite]) == 2
    assert "DIGESTBOT_QUEUE=postgres needs a PostgreSQL DATABASE_URL" in capsys.readouterr().err


def test_migrate_creates_the_queue_tables_once_and_again_changes_nothing(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGESTBOT_QUEUE", "postgres")
    assert main(["migrate", "--database", postgres_url]) == 0
    assert main(["migrate", "--database", postgres_url]) == 0  # idempotent
    engine = create_engine(sync_url(postgres_url))
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SELECT version FROM digestbot_queue_schema")).all()
            jobs = conn.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar_one()
    finally:
        engine.dispose()
    assert version == [(metadata.version("procrastinate"),)]
    assert jobs == 0
