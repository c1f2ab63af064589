"""Shared builds: concurrent builds of one day make the model calls of one build."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.builds import BuildGate, WaitPolicy
from bot.storage.fleet_store import SqlLeaseLocks
from bot.storage.sql_store import SqlStore
from digestbot.cli import main
from tests.emulators.github_api import GitHubEmulator
from tests.emulators.loopback import Request, Response
from tests.emulators.openai_api import OpenAIEmulator
from tests.test_github_source import day_commits

RUNS = 4
KEY = "build:acme/app:2026-02-19:UTC:en"


class GatheringGitHub(GitHubEmulator):
    """Holds the first `parties` repository look-ups until all have arrived.

    Every build looks its repository up before it takes its lease, so the runs are sure to
    overlap: without the lease each of them would analyze the whole day.
    """

    def __init__(self, parties: int) -> None:
        super().__init__()
        self._barrier = threading.Barrier(parties, timeout=120)
        self._waiting = parties
        self._count = threading.Lock()

    def handle(self, request: Request) -> Response:
        if request.path == "/repos/acme/app":
            with self._count:
                gather = self._waiting > 0
                self._waiting -= 1
            if gather:
                self._barrier.wait()
        return super().handle(request)


def digest_command(database_url: str) -> list[str]:
    return [
        *("digest", "--repo", "acme/app", "--date", "2026-02-19", "--tz", "UTC"),
        *("--analyzer", "llm", "--database", database_url),
    ]


def model_env(github: GitHubEmulator, openai: OpenAIEmulator) -> dict[str, str]:
    return {
        "GITHUB_API_URL": github.url,
        "OPENAI_API_KEY": openai.key,
        "OPENAI_BASE_URL": openai.base_url,
    }


def test_four_concurrent_digest_runs_make_the_model_calls_of_one(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with GatheringGitHub(RUNS) as github, OpenAIEmulator() as openai:
        github.add_repo("acme/app", day_commits(12, files_each=2))
        openai.latency = 0.05  # calls take time, as a real model's do
        env = {**os.environ, **model_env(github, openai), "PYTHONUNBUFFERED": "1"}
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "digestbot", *digest_command(database_url)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(RUNS)
        ]
        outputs = [run.communicate(timeout=300) for run in runs]
        shared_calls = len(openai.calls())
        # The same day built once, alone, in a database of its own: the calls one build makes.
        for key, value in model_env(github, openai).items():
            monkeypatch.setenv(key, value)
        assert main(digest_command(f"sqlite:///{tmp_path / 'alone.sqlite3'}")) == 0
        alone = capsys.readouterr().out
        one_build_calls = len(openai.calls()) - shared_calls
    assert [run.returncode for run in runs] == [0] * RUNS, [err for _, err in outputs]
    assert one_build_calls > 1
    assert shared_calls == one_build_calls
    assert all(out == alone for out, _ in outputs)  # every run printed the same full report
    closing = sorted(err.strip().splitlines()[-1] for _, err in outputs)
    assert sum("model calls 0," in line for line in closing) == RUNS - 1


async def test_a_dead_builders_lease_is_taken_over(store: SqlStore) -> None:
    locks = SqlLeaseLocks(store.engine)
    dead = await locks.acquire(KEY, "gone:1", datetime.now(UTC), timedelta(milliseconds=300))
    gate = BuildGate(locks, process="alive", policy=WaitPolicy(lease=timedelta(seconds=30)))

    async def build() -> str:
        return "built"

    assert dead
    assert await gate.run(KEY, build) == "built"  # waited for the lapse, never for ever
    assert await locks.acquire(KEY, "next:1", datetime.now(UTC), timedelta(seconds=30))


async def test_a_live_holder_is_waited_for_only_up_to_the_bound(store: SqlStore) -> None:
    locks = SqlLeaseLocks(store.engine)
    assert await locks.acquire(KEY, "busy:1", datetime.now(UTC), timedelta(hours=1))
    gate = BuildGate(locks, process="impatient", policy=WaitPolicy(max_wait=timedelta(0)))

    async def build() -> str:
        return "built anyway"

    assert await gate.run(KEY, build) == "built anyway"
    assert not await locks.acquire(KEY, "other:1", datetime.now(UTC), timedelta(hours=1))


async def test_a_lease_is_renewed_only_by_its_owner_and_released_once(store: SqlStore) -> None:
    locks = SqlLeaseLocks(store.engine)
    now = datetime.now(UTC)
    assert await locks.acquire(KEY, "a:1", now, timedelta(seconds=30))
    assert not await locks.acquire(KEY, "b:1", now, timedelta(seconds=30))
    assert await locks.renew(KEY, "a:1", now, timedelta(seconds=30))
    assert not await locks.renew(KEY, "b:1", now, timedelta(seconds=30))
    await locks.release(KEY, "b:1")  # not b's: nothing happens
    assert not await locks.acquire(KEY, "b:1", now, timedelta(seconds=30))
    await locks.release(KEY, "a:1")
    assert await locks.acquire(KEY, "b:1", now, timedelta(seconds=30))
