"""Benchmark: a digest of N commits against the OpenAI emulator with latency L per call.

Prints the wall time beside its floor (L x the sequential rounds the concurrency allows, plus
the fetch), the model calls, prompt tokens per commit beside sending each whole diff, the calls
of a second run, and peak memory.

    .venv/bin/python bench/digest_llm.py --commits 24 --latency 0.5 --concurrency 4
"""

from __future__ import annotations

import argparse
import asyncio
import math
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.analyzers.rules import RulesAnalyzer
from bot.budget import DiffBudget
from bot.config import FilterConfig, ModelConfig, RulesConfig
from bot.days import DayWindow
from bot.digest import CommitFilter, DigestEngine
from bot.llm.analyzer import TRIAGE_BATCH, LlmAnalyzer, Prompts
from bot.llm.client import OpenAIModelClient
from bot.llm.overview import LlmOverviewer
from bot.models import Severity
from bot.prompts import load_prompt
from bot.storage.database import create_engine, migrate
from bot.storage.sql_store import SqlStore
from tests.emulators.openai_api import OpenAIEmulator
from tests.factories import ListSource, day_of_commits


def whole_diff_chars(commits: list) -> int:
    """What the earlier tool sent: every patch, lockfiles included, plus the message."""
    return sum(len(c.message) + sum(len(f.patch or "") for f in c.files) for c in commits)


async def run(n: int, latency: float, concurrency: int, budget: int) -> None:
    commits = day_of_commits(n)
    with tempfile.TemporaryDirectory() as tmp, OpenAIEmulator() as emu:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        migrate(url)
        store = SqlStore(create_engine(url))
        config = ModelConfig.model_validate(
            {"api_key": "test-key", "base_url": emu.base_url, "concurrency": concurrency}
        )
        client = OpenAIModelClient(config)
        analyzer = LlmAnalyzer(
            client,
            Prompts(load_prompt("triage"), load_prompt("analysis")),
            DiffBudget(budget),
            RulesAnalyzer(RulesConfig()),
            config.model,
        )
        engine = DigestEngine(
            analyzer,
            store,
            CommitFilter(FilterConfig()),
            overviewer=LlmOverviewer(client, load_prompt("overview")),
        )
        source = ListSource("acme/app", commits)
        window = DayWindow(date(2026, 2, 19), "UTC")

        started = time.perf_counter()
        await source.commits(window)
        fetch = time.perf_counter() - started

        emu.latency = latency
        started = time.perf_counter()
        digest = await engine.build(source, window, "en")
        wall = time.perf_counter() - started
        first_calls = len(emu.calls())
        counts = digest.counts()
        deep = counts[Severity.HIGH] + counts[Severity.MEDIUM]
        triage_batches = math.ceil(n / TRIAGE_BATCH)
        rounds = math.ceil(triage_batches / concurrency) + math.ceil(deep / concurrency) + 1
        floor = latency * rounds + fetch

        started = time.perf_counter()
        await engine.build(source, window, "en")
        rerun_wall = time.perf_counter() - started
        second_calls = len(emu.calls()) - first_calls
        await client.close()
        await store.close()

    usage = digest.usage
    # Both sides counted the emulator's way (characters / 4) so they compare like for like.
    whole = whole_diff_chars(commits) // 4
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"command: python bench/digest_llm.py --commits {n} --latency {latency} "
        f"--concurrency {concurrency} --budget {budget}"
    )
    print(
        f"commits: {n} (high {counts[Severity.HIGH]}, medium {counts[Severity.MEDIUM]}, "
        f"low {counts[Severity.LOW]})"
    )
    print(
        f"wall time: {wall:.2f} s; floor {floor:.2f} s "
        f"({rounds} sequential rounds x {latency} s + fetch {fetch * 1000:.1f} ms)"
    )
    print(f"model calls: {first_calls} ({triage_batches} triage, {deep} deep, 1 overview)")
    print(
        f"prompt tokens: {usage.prompt_tokens} total, {usage.prompt_tokens // n} per commit; "
        f"whole diffs alone would be {whole} total, {whole // n} per commit"
    )
    print(f"completion tokens: {usage.completion_tokens}")
    print(f"second run: {second_calls} model calls, {rerun_wall:.2f} s")
    print(f"peak RSS: {peak_mb:.0f} MiB")


def main() -> None:
    """Parse the flags and run once."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=24)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--budget", type=int, default=6000)
    args = parser.parse_args()
    asyncio.run(run(args.commits, args.latency, args.concurrency, args.budget))


if __name__ == "__main__":
    main()
