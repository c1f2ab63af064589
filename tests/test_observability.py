"""The lines a person greps for, with their ids (plain and JSON), and the metrics /metrics shows."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import load_settings
from bot.storage.sql_store import SqlStore
from bot.subscriptions import load_subscriptions
from bot.telemetry import install
from digestbot.logs import configure_logging
from digestbot.metrics import PrometheusSink
from digestbot.service import Service, open_service, web_app
from digestbot.wiring import open_core
from scheduler.clock import Backoff, DailyClock
from tests.emulators.loopback import RateWindow
from tests.emulators.openai_api import OpenAIEmulator
from tests.emulators.slack_api import SlackEmulator
from tests.gitrepo import GitRepo
from tests.hostile import restored_logging
from tests.served import clean_env, free_port, wait_for
from tests.test_isolation import FAST, SwitchableTelegram, signed_command, status_of
from tests.test_llm import Rig, model_config
from tests.test_model_client import features
from tests.test_roles import config, three_commits
from tests.waiting import until

FORMATS = ["plain", "json"]
METRICS_TOKEN = "metrics-token-0123456789"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    yield from restored_logging()


@dataclass
class Observed:
    """A service wired as `digestbot web` wires it, its log stream and its metrics."""

    service: Service
    slack: SlackEmulator
    stream: io.StringIO
    log_format: str
    sink: PrometheusSink

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def records(self) -> list[dict[str, Any]]:
        """Each JSON line as a dict (the JSON format only)."""
        return [json.loads(line) for line in self.lines()]

    def record(self, starts: str) -> dict[str, Any]:
        """The one JSON record whose message starts with `starts`."""
        found = [r for r in self.records() if r["message"].startswith(starts)]
        assert len(found) == 1, (starts, self.lines())
        return found[0]

    def logged(self, text: str) -> bool:
        return text in self.stream.getvalue()

    async def metrics(self, token: str | None = METRICS_TOKEN) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.client() as web:
            return await web.get("/metrics", headers=headers)

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=web_app(self.service))
        return httpx.AsyncClient(transport=transport, base_url="http://web")


@pytest.fixture(params=FORMATS)
async def observed(
    request: pytest.FixtureRequest, tmp_path: Path, repo: GitRepo, database_url: str
) -> AsyncIterator[Observed]:
    three_commits(repo)
    with SlackEmulator() as slack:
        env = {
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_SIGNING_SECRET": "sign",
            "SLACK_API_URL": slack.api_url,
            "METRICS_TOKEN": METRICS_TOKEN,
        }
        settings = load_settings(env)
        stream = io.StringIO()
        configure_logging(settings, {"LOG_FORMAT": request.param}, stream=stream)
        service = await open_service(
            await open_core(settings), load_subscriptions(config(tmp_path, repo))
        )
        sink = service.metrics = PrometheusSink()
        sink.known_platforms(service.posters)
        uninstall = install(sink)
        try:
            yield Observed(service, slack, stream, request.param, sink)
        finally:
            uninstall()
            await service.close()


def samples(body: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The exposition parsed by prometheus-client's own parser: (name, labels) → value."""
    found = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(body: str, name: str, **labels: str) -> float:
    return samples(body).get((name, frozenset(labels.items())), 0.0)


async def test_a_command_is_followed_from_arrival_to_answer(observed: Observed) -> None:
    body, headers = signed_command("2026-03-02", "T-9", observed.slack)
    async with observed.client() as web:
        answer = await web.post("/slack/events", content=body, headers=headers)
    assert answer.status_code == 200
    await until(lambda: observed.logged("command T-9: digest in slack CTEAM answered in"))
    key = "command-T-9:slack:CTEAM::repo:2026-03-02:Europe/Paris:en"
    wanted = [
        "command T-9: /digest '2026-03-02' from U1 in slack CTEAM",
        f"post {key}: claimed",
        f"post {key}: posted, 4 messages sent (4 in all) in ",
        "command T-9: digest in slack CTEAM answered in ",
    ]
    if observed.log_format == "plain":
        for line in wanted:
            assert any(line in each for each in observed.lines()), (line, observed.lines())
    else:
        received, claimed, posted, answered = (observed.record(line) for line in wanted)
        ids = {"event_id": "T-9", "platform": "slack", "chat": "CTEAM"}
        assert received.items() >= ({**ids, "user": "U1", "command": "digest"}).items()
        post = {**ids, "post_key": key, "repo": "repo", "day": "2026-03-02"}
        assert claimed.items() >= {**post, "state": "new"}.items()
        assert posted.items() >= {**post, "outcome": "posted", "sent": 4, "total": 4}.items()
        assert answered["outcome"] == "answered" and answered["seconds"] > 0
    exposition = (await observed.metrics()).text
    labels = {"platform": "slack", "command": "digest", "outcome": "answered"}
    assert value(exposition, "digestbot_command_seconds_count", **labels) == 1
    assert value(exposition, "digestbot_posts_total", platform="slack", outcome="posted") == 1
    assert value(exposition, "digestbot_messages_sent_total", platform="slack") == 4
    assert "CTEAM" not in exposition and "U1" not in exposition  # counts, never who


async def test_a_daily_post_with_a_429_and_a_clock_retry_is_followed_by_its_ids(
    observed: Observed,
) -> None:
    slack = observed.slack
    slack.not_in.add("CTEAM")  # the first attempt is refused: the bot is not invited yet
    slack.channel_rate = RateWindow(1, 1.5)  # stricter than Slack documents: a 429 or two

    async def invited(_seconds: float) -> None:
        slack.not_in.clear()

    service = observed.service
    backoff = Backoff(first=0.01, cap=0.01)
    clock = DailyClock(service.subscriptions, service.post, backoff=backoff, sleep=invited)
    assert await clock.complete(service.subscriptions[0], date(2026, 3, 3))
    key = "daily-team:slack:CTEAM::repo:2026-03-02:Europe/Paris:en"
    wanted = [
        f"post {key}: failed after 0 of 4 messages: Slack said not_in_channel",
        "daily team for 2026-03-02: attempt 1 failed (team: repo: posted 0 of 4 messages",
        f"post {key}: resumed (0 messages were already sent)",
        "slack CTEAM: 429 on attempt 1, waiting ",
        f"post {key}: completed, 4 messages sent (4 in all) in ",
        "team: repo: 3 commits, completed an interrupted post, 4 messages sent",
        "daily team for 2026-03-02 complete after 2 attempts",
    ]
    if observed.log_format == "plain":
        for line in wanted:
            assert any(line in each for each in observed.lines()), (line, observed.lines())
    else:
        failed, retry, resumed, limited, completed, run, complete = (
            observed.record(line) for line in wanted
        )
        post = {"post_key": key, "platform": "slack", "chat": "CTEAM", "repo": "repo"}
        post |= {"day": "2026-03-02", "subscription": "team"}
        assert failed.items() >= {**post, "outcome": "failed", "done": 0, "total": 4}.items()
        day = {"subscription": "team", "day": "2026-03-02"}
        assert retry.items() >= {**day, "kind": "clock", "attempt": 1}.items()
        assert resumed.items() >= {**post, "state": "resumed"}.items()
        assert limited.items() >= {"platform": "slack", "chat": "CTEAM", "attempt": 1}.items()
        assert completed.items() >= {**post, "outcome": "completed", "sent": 4}.items()
        assert run.items() >= day.items() and complete.items() >= {**day, "attempt": 2}.items()
    exposition = (await observed.metrics()).text
    assert value(exposition, "digestbot_posts_total", platform="slack", outcome="failed") == 1
    assert value(exposition, "digestbot_posts_total", platform="slack", outcome="completed") == 1
    assert value(exposition, "digestbot_rate_limited_total", platform="slack") >= 1
    assert value(exposition, "digestbot_retries_total", kind="clock") == 1


async def test_model_retries_fallbacks_and_tokens_are_logged_and_counted(
    store: SqlStore,
) -> None:
    stream = io.StringIO()
    configure_logging(load_settings({}), {"LOG_FORMAT": "json"}, stream=stream)
    sink = PrometheusSink()
    uninstall = install(sink)
    with OpenAIEmulator() as emulator:
        emulator.fail(*[_server_error()] * 2)  # the first call, then its one retry
        rig = Rig(store, model_config(emulator, max_retries=1))
        first, then = features(2)  # each rated high by the rules: one deep call each
        try:
            [fell], _ = await rig.engine.analyze([first], "en")
            [answered], usage = await rig.engine.analyze([then], "en")
        finally:
            await rig.client.close()
            uninstall()
    assert fell.fallback_reason == "server_error" and answered.fallback_reason is None
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    retry = next(r for r in records if r["message"].startswith("model gpt-4o-mini: attempt 1"))
    fallback = next(r for r in records if r["message"].startswith("analysis of acme/app"))
    assert retry.items() >= {"kind": "model", "attempt": 1, "reason": "server_error"}.items()
    assert fallback.items() >= {"sha": fell.sha[:7], "repo": "acme/app"}.items()
    assert fallback["reason"] == "server_error" and fell.sha[:7] in fallback["message"]
    exposition = sink.exposition().decode()
    assert value(exposition, "digestbot_model_calls_total", outcome="server_error") == 2
    assert value(exposition, "digestbot_model_calls_total", outcome="ok") == 1
    kind = {"kind": "analysis", "reason": "server_error"}
    assert value(exposition, "digestbot_model_fallbacks_total", **kind) == 1
    assert value(exposition, "digestbot_model_prompt_tokens_total") == usage.prompt_tokens > 0


def _server_error() -> Any:
    from tests.emulators.loopback import Fault

    return Fault(500, {"error": {"message": "boom"}}, path_contains="chat/completions")


@pytest.mark.parametrize("observed", ["plain"], indirect=True)
async def test_metrics_ask_for_the_token_when_one_is_set(observed: Observed) -> None:
    refused = [await observed.metrics(None), await observed.metrics("wrong")]
    served = await observed.metrics()
    assert [r.status_code for r in refused] == [401, 401]
    assert refused[0].headers["www-authenticate"].startswith("Bearer")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/plain")
    assert "digestbot_posts_total" in served.text and METRICS_TOKEN not in served.text


async def test_platform_gauges_say_which_platform_is_up(
    tmp_path: Path, repo: GitRepo, database_url: str
) -> None:
    with SlackEmulator() as slack, SwitchableTelegram() as telegram:
        env = {"DATABASE_URL": database_url, "TELEGRAM_API_URL": telegram.api_url}
        env |= {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url}
        env |= {"TELEGRAM_BOT_TOKEN": telegram.token}
        service = await open_service(await open_core(load_settings(env)), ())
        sink = service.metrics = PrometheusSink()
        sink.known_platforms(service.posters)
        uninstall = install(sink)
        try:
            service.start_platforms(web=True, clock=False, policy=FAST)
            states = {"slack": "ok", "telegram": "degraded"}
            await until(lambda: {k: r.status.state for k, r in service.platforms.items()} == states)
            exposition = sink.exposition().decode()
        finally:
            uninstall()
            await service.close()
    assert value(exposition, "digestbot_platform_up", platform="slack") == 1
    assert value(exposition, "digestbot_platform_degraded", platform="slack") == 0
    assert value(exposition, "digestbot_platform_up", platform="telegram") == 0
    assert value(exposition, "digestbot_platform_degraded", platform="telegram") == 1


def test_the_clock_serves_health_and_metrics_on_metrics_port(
    tmp_path: Path, database_url: str
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(METRICS_PORT=str(port), METRICS_TOKEN=METRICS_TOKEN)
    log = tmp_path / "clock.log"
    command = [sys.executable, "-m", "digestbot", "clock", "--database", database_url]
    with log.open("wb") as sink:
        clock = subprocess.Popen(command, env=env, stdout=sink, stderr=sink)
    try:
        wait_for(lambda: answers(base + "/healthz") or clock.poll() is not None)
        bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        request = urllib.request.Request(base + "/metrics", headers=bearer)
        with urllib.request.urlopen(request, timeout=30) as answer:
            exposition = answer.read().decode()
        statuses = [status_of(base + "/metrics"), status_of(base + "/repos/acme/app")]
    finally:
        clock.terminate()
        clock.wait(30)
    assert statuses == [401, 404]  # the token is asked for; the clock serves no pages
    assert "# TYPE digestbot_posts_total counter" in exposition
    assert clock.returncode == 0, log.read_text()


def answers(url: str) -> bool:
    try:
        return status_of(url) == 200
    except OSError:  # not listening yet
        return False
