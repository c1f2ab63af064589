"""The model client under a strict, dead, hanging or reasoning provider; answers never cut."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.budget import DiffBudget
from bot.errors import StorageError
from bot.followup import FollowUpContext, ModelAnswerer
from bot.llm.client import OpenAIModelClient
from bot.llm.limiter import AdaptiveLimit, CircuitBreaker, Slot
from bot.llm.overview import LlmOverviewer
from bot.models import Commit, CommitAnalysis, DigestEntry, Severity
from bot.prompts import load_prompt
from bot.storage.database import create_engine
from bot.storage.sql_store import SqlStore
from digestbot.cli import main
from tests.emulators.loopback import Fault
from tests.emulators.openai_api import OpenAIEmulator, dead_endpoint
from tests.factories import ListSource, day_of_commits
from tests.gitrepo import GitRepo
from tests.test_llm import RULES, WINDOW, Rig, model_config

CONTEXT_TOO_LONG = {
    "error": {
        "message": "This model's maximum context length is 128000 tokens.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}


@pytest.fixture
def openai_emu() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator() as emulator:
        yield emulator


def features(n: int) -> list[Commit]:
    return [c for c in day_of_commits(6 * n) if c.title.startswith("feat")][:n]


async def test_a_provider_allowing_4_calls_costs_a_few_429s_and_no_entry(
    store: SqlStore, openai_emu: OpenAIEmulator
) -> None:
    openai_emu.max_concurrent = 4
    openai_emu.retry_after = "0.2"
    # The first four answers wait until a fifth call has met the limit.
    openai_emu.holds.append((lambda _label: True, lambda: openai_emu.rate_limited > 0))
    rig = Rig(store, model_config(openai_emu, concurrency=16, max_retries=3))
    try:
        analyses, _ = await rig.engine.analyze(features(16), "en")
    finally:
        await rig.client.close()
    assert all(a.fallback_reason is None for a in analyses)
    assert 0 < openai_emu.rate_limited <= 16  # a few, not a storm of retries
    assert rig.client.limit.limit < 16  # halved on the 429s, growing back slowly


def test_aimd_halves_once_per_window_and_grows_back_by_one() -> None:
    limit = AdaptiveLimit(16)
    for outcome in ["rate_limited"] * 8:  # one burst of 429s from calls made at 16
        limit._account(_slot(0, outcome))
    assert limit.limit == 8 and limit.rate_limited == 8
    for _ in range(8):
        limit._account(_slot(1, "ok"))
    assert limit.limit == 9


def _slot(epoch: int, outcome: str) -> Slot:
    return Slot(epoch, outcome)


def test_the_breaker_opens_after_three_failures_and_lets_a_trial_through_later() -> None:
    now = [0.0]
    breaker = CircuitBreaker(3, 60.0, clock=lambda: now[0])
    assert not breaker.failure() and not breaker.failure()
    assert breaker.failure() and not breaker.allow()
    now[0] = 61.0
    assert breaker.allow()  # half-open: one trial
    assert breaker.failure() and not breaker.allow()  # failed again: open again
    now[0] = 130.0
    breaker.success()
    assert breaker.allow() and breaker.trips == 2


async def test_a_dead_endpoint_falls_back_at_once_and_says_the_model_is_unreachable(
    store: SqlStore, openai_emu: OpenAIEmulator
) -> None:
    config = model_config(openai_emu, base_url=dead_endpoint())
    rig = Rig(store, config)
    try:
        digest = await rig.engine.build(ListSource("acme/app", day_of_commits(24)), WINDOW, "en")
    finally:
        await rig.client.close()
    assert len(digest.entries) == 24 and digest.overview is None
    reasons = {e.analysis.fallback_reason for e in digest.entries}
    assert reasons <= {"unreachable", "circuit_open"} and "circuit_open" in reasons
    assert digest.usage.model_unreachable and digest.usage.calls == 0
    assert all(e.analysis.summary for e in digest.entries)
    # the stored digest keeps it, for the chat summary posted from it
    stored = await store.get_digest("acme/app", WINDOW.day, WINDOW.tz, "en")
    assert stored is not None and stored.usage.model_unreachable


async def test_a_hanging_endpoint_costs_one_wave_of_time_outs_not_one_per_entry(
    store: SqlStore, openai_emu: OpenAIEmulator
) -> None:
    openai_emu.hang = True
    config = model_config(openai_emu, timeout_seconds=0.5, concurrency=4, max_retries=3)
    rig = Rig(store, config)
    try:
        analyses, usage = await rig.engine.analyze(day_of_commits(24), "en")
    finally:
        await rig.client.close()
    assert usage.model_unreachable
    assert {a.fallback_reason for a in analyses} <= {"timeout", "circuit_open"}
    # the four calls in flight time out and none is asked again; the two slots freed before
    # the third time-out opened the breaker may start two more; then the calls stop
    assert len(openai_emu.requests) <= 4 + 2


def test_the_closing_line_says_the_model_was_unreachable(
    repo: GitRepo,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tz = ZoneInfo("Asia/Tokyo")
    repo.commit("feat: model day", datetime(2026, 3, 4, 9, tzinfo=tz), {"src/a.py": "1\n"})
    repo.commit("docs: a note", datetime(2026, 3, 4, 10, tzinfo=tz), {"docs/a.md": "1\n"})
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", dead_endpoint())
    code = main(["digest", "--repo", str(repo.path), "--date", "2026-03-04", "--tz", "Asia/Tokyo"])
    out, err = capsys.readouterr()
    assert code == 0 and "feat: model day" in out
    assert "model unreachable: analyzed by the rules (2 of 2 commits)" in err
    assert "Traceback" not in err


async def test_a_reasoning_model_gets_max_completion_tokens_and_no_temperature(
    store: SqlStore, openai_emu: OpenAIEmulator
) -> None:
    openai_emu.reasoning = True
    rig = Rig(store, model_config(openai_emu, model="gpt-4o-mini", concurrency=1))
    try:
        analyses, _ = await rig.engine.analyze(features(3), "en")
    finally:
        await rig.client.close()
    assert all(a.analyzer.name == "llm" for a in analyses)
    calls = openai_emu.calls()
    # one 400 for max_tokens, one for temperature, then every call as the model wants
    assert len(calls) == 3 + 2
    assert all("max_tokens" not in c and "temperature" not in c for c in calls[2:])
    assert all(c["max_completion_tokens"] > 2000 for c in calls[2:])  # room to reason


@pytest.mark.parametrize("model", ["o3-mini", "gpt-5-mini"])
async def test_reasoning_models_are_recognised_without_a_400(
    store: SqlStore, openai_emu: OpenAIEmulator, model: str
) -> None:
    openai_emu.reasoning = True
    rig = Rig(store, model_config(openai_emu, model=model))
    try:
        [analysis], _ = await rig.engine.analyze(features(1), "en")
    finally:
        await rig.client.close()
    assert analysis.analyzer.name == "llm" and len(openai_emu.calls()) == 1


async def test_a_400_never_crashes_the_overview_a_follow_up_or_an_explanation(
    openai_emu: OpenAIEmulator,
) -> None:
    client = OpenAIModelClient(model_config(openai_emu))
    entry, [whole] = _entry(), features(1)
    context = FollowUpContext(None, (entry,), "en", (whole,))
    answerer = ModelAnswerer(
        client, load_prompt("followup"), load_prompt("explain"), DiffBudget(2000)
    )
    overviewer = LlmOverviewer(client, load_prompt("overview"), RULES)
    openai_emu.fail(*[Fault(400, CONTEXT_TOO_LONG) for _ in range(3)])
    try:
        overview, _ = await overviewer.overview("acme/app", date(2026, 2, 19), "en", [whole])
        answer = await answerer.answer("what changed?", context, [])
        explained = await answerer.explain(context)
    finally:
        await client.close()
    assert overview is None and explained is None
    assert answer.startswith("No model is configured") or entry.commit.title in answer
    assert len(openai_emu.requests) == 3  # a 400 is not retried


async def test_a_400_on_a_deep_call_falls_back_for_that_entry_only(
    store: SqlStore, openai_emu: OpenAIEmulator
) -> None:
    rig = Rig(store, model_config(openai_emu, concurrency=1))
    openai_emu.fail(Fault(400, CONTEXT_TOO_LONG))
    try:
        first, second = (await rig.engine.analyze(features(2), "en"))[0]
    finally:
        await rig.client.close()
    assert first.fallback_reason == "bad_request" and first.analyzer.name == "rules"
    assert second.analyzer.name == "llm"


async def test_a_follow_up_cut_at_the_cap_is_asked_again_shorter(
    openai_emu: OpenAIEmulator,
) -> None:
    client = OpenAIModelClient(model_config(openai_emu))
    answerer = ModelAnswerer(
        client, load_prompt("followup"), load_prompt("explain"), DiffBudget(2000)
    )
    context = FollowUpContext(None, (_entry(),), "zh")
    openai_emu.quirks.append("length")
    try:
        answer = await answerer.answer("有什么风险？", context, [])
        openai_emu.quirks.extend(["length", "length"])
        cut = await answerer.answer("还有呢？", context, [])
    finally:
        await client.close()
    second = openai_emu.calls()[1]["messages"][1]["content"]
    assert "at most half as long" in second
    assert answer.startswith("Answer about") and "截断" not in answer
    assert cut.endswith("（回答因模型长度上限被截断。）")


def _entry() -> DigestEntry:
    [c] = features(1)
    analysis: CommitAnalysis = RULES.analyze_now(c, "en")
    assert analysis.severity is Severity.HIGH
    return DigestEntry(c.info(), analysis)


class FailingStore(SqlStore):
    """A store whose database goes away after `keep` analyses were written."""

    def __init__(self, url: str, keep: int) -> None:
        super().__init__(create_engine(url))
        self.keep = keep

    async def put_analyses(self, analyses: Sequence[CommitAnalysis]) -> None:
        if self.keep < len(analyses):
            raise StorageError("the database is unreachable")
        self.keep -= len(analyses)
        await super().put_analyses(analyses)


async def test_each_analysis_is_saved_as_it_completes_so_a_failure_loses_little(
    database_url: str, openai_emu: OpenAIEmulator
) -> None:
    commits = features(6)
    failing = FailingStore(database_url, keep=2)
    rig = Rig(failing, model_config(openai_emu, concurrency=1))
    with pytest.raises(StorageError):
        await rig.engine.analyze(commits, "en")
    await rig.client.close()
    await failing.close()

    healthy = SqlStore(create_engine(database_url))
    identity = rig.engine.analyzer.identity
    saved = [c for c in commits if await healthy.get_analysis(c.sha, identity, "en")]
    again = Rig(healthy, model_config(openai_emu))
    try:
        analyses, _ = await again.engine.analyze(commits, "en")
    finally:
        await again.client.close()
        await healthy.close()
    assert len(saved) == 2 and all(a.analyzer.name == "llm" for a in analyses)
    labels = [OpenAIEmulator.label(body) for body in openai_emu.calls()]
    # the two saved before the database went away were asked about once, never again
    assert all(labels.count(f"deep {c.short_sha}") == 1 for c in saved)
    assert all(f"deep {c.short_sha}" in labels for c in commits)
