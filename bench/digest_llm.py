"""Benchmark: a busy day's digest against the OpenAI emulator with latency L per call.

For each latency and client concurrency it builds the digest of tests/realistic_day.py (40
commits of real code edited in hunks, lockfiles, cassettes, docs) several times and prints
medians: the waves of calls seen by the emulator, the wall time beside the floor (fetch + L),
their ratio, the goal (1.3 x floor when the concurrency covers the day, else fetch +
ceil(calls / C) x L x 1.1, never under the dependency chain), the calls, and the prompt
tokens beside the naive prompt (every file's patch up to 50 KB, lockfiles included). Then the
429s a provider allowing only 8 concurrent calls answers, and the wall time of a dead and a
hanging endpoint.

    .venv/bin/python bench/digest_llm.py --latency 2 5 --concurrency 64 16 4 --repeats 3
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import sqlalchemy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.analyzers.rules import RulesAnalyzer
from bot.budget import DiffBudget
from bot.config import FilterConfig, ModelConfig, RulesConfig
from bot.days import DayWindow
from bot.digest import CommitFilter, DigestEngine
from bot.llm.analyzer import LlmAnalyzer, Prompts
from bot.llm.client import OpenAIModelClient
from bot.llm.overview import LlmOverviewer
from bot.models import Commit, FileState, RepoDigest, Severity
from bot.prompts import load_prompt
from bot.storage.database import create_engine, migrate, sync_url
from bot.storage.sql_store import SqlStore
from tests.emulators.openai_api import OpenAIEmulator, dead_endpoint
from tests.factories import ListSource
from tests.realistic_day import realistic_day

DAY = date(2026, 2, 19)
TZ = "Europe/Berlin"
NAIVE_PATCH_CHARS = 50_000


@dataclass(frozen=True)
class Run:
    """One digest build's figures."""

    wall: float
    fetch: float
    calls: int
    waves: int
    rate_limited: int
    prompt_tokens: int
    digest: RepoDigest


def calm(commit: Commit) -> Commit:
    """The commit without the words that make the stand-in model rate it up from triage."""
    message = commit.message.replace(" for CVE-2026-1234", "")
    return replace(commit, message=message.replace("accepts unsigned tokens", "is old"))


def naive_prompt_tokens(commits: list[Commit]) -> int:
    """One call per commit with the analysis instructions, the message and every whole patch."""
    instructions = len(load_prompt("analysis").system)
    chars = sum(
        instructions
        + len(c.message)
        + sum(len((f.patch or "")[:NAIVE_PATCH_CHARS]) for f in c.files)
        for c in commits
    )
    return chars // 4  # counted as the emulator counts our prompts: like for like


def waves(timeline: list[tuple[float, float]], latency: float) -> int:
    """Calls that start within half a latency of a wave's first call belong to that wave."""
    count, first = 0, -math.inf
    for start, _ in sorted(timeline):
        if start > first + latency / 2:
            count, first = count + 1, start
    return count


# --database: PostgreSQL instead of a fresh SQLite file per run.
DATABASE: dict[str, str | None] = {"url": None}


def fresh_database(tmp: str) -> str:
    """A new, migrated database for one run: a SQLite file, or an emptied PostgreSQL schema."""
    url = DATABASE["url"] or f"sqlite:///{tmp}/bench.sqlite3"
    if DATABASE["url"]:
        engine = sqlalchemy.create_engine(sync_url(url))
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("DROP SCHEMA public CASCADE"))
            conn.execute(sqlalchemy.text("CREATE SCHEMA public"))
        engine.dispose()
    migrate(url)
    return url


async def build(
    commits: list[Commit], latency: float, concurrency: int, provider_limit: int | None
) -> Run:
    with tempfile.TemporaryDirectory() as tmp, OpenAIEmulator() as emu:
        store = SqlStore(create_engine(fresh_database(tmp)))
        config = ModelConfig.model_validate(
            {"api_key": "test-key", "base_url": emu.base_url, "concurrency": concurrency}
        )
        client = OpenAIModelClient(config)
        engine = engine_for(client, store, config.model)
        source = ListSource("acme/shop", commits)
        window = DayWindow(DAY, TZ)
        started = time.perf_counter()
        await source.commits(window)
        fetch = time.perf_counter() - started
        emu.call_latency = latency
        emu.max_concurrent = provider_limit
        started = time.perf_counter()
        digest = await engine.build(source, window, "en")
        wall = time.perf_counter() - started
        await client.close()
        await store.close()
        return Run(
            wall,
            fetch,
            len(emu.calls()),
            waves(emu.timeline, latency),
            emu.rate_limited,
            digest.usage.prompt_tokens,
            digest,
        )


def engine_for(client: OpenAIModelClient, store: SqlStore, model: str) -> DigestEngine:
    rules = RulesAnalyzer(RulesConfig())
    prompts = Prompts(load_prompt("triage"), load_prompt("analysis"))
    analyzer = LlmAnalyzer(client, prompts, DiffBudget(6000), rules, model)
    overviewer = LlmOverviewer(client, load_prompt("overview"), rules)
    return DigestEngine(analyzer, store, CommitFilter(FilterConfig()), overviewer=overviewer)


def chain(digest: RepoDigest, commits: list[Commit]) -> int:
    """Calls in a row the day needs: 2 when a triage upgrade must wait for its batch."""
    rules = RulesAnalyzer(RulesConfig())
    # Entries hold the commit without its files: the rules prior needs the whole commit.
    by_sha = {c.sha: c for c in commits}
    upgraded = any(
        rules.analyze_now(by_sha[e.commit.sha], "en").severity is Severity.LOW
        and e.analysis.coverage is not None
        for e in digest.entries
    )
    return 2 if upgraded else 1


def row(latency: float, concurrency: int, runs: list[Run], commits: list[Commit]) -> str:
    med = statistics.median
    wall, fetch = med(r.wall for r in runs), med(r.fetch for r in runs)
    calls = int(med(r.calls for r in runs))
    floor = fetch + latency
    need = chain(runs[0].digest, commits)
    goal = (
        1.3 * floor
        if concurrency >= calls
        else fetch + max(need, math.ceil(calls / concurrency)) * latency * 1.1
    )
    verdict = "met" if wall <= goal else f"not met (+{wall / goal - 1:.0%})"
    rounds = max(need, math.ceil(calls / concurrency))
    bound = fetch + rounds * latency
    return (
        f"| {latency:g} s | {concurrency} | {int(med(r.waves for r in runs))} | {wall:.2f} s | "
        f"{floor:.2f} s | {wall / floor:.2f} | {goal:.2f} s {verdict} | "
        f"{bound:.2f} s ({rounds} x L) | {wall / bound:.2f} | {calls} |"
    )


def coverage_line(digest: RepoDigest, naive: int, prompt_tokens: int) -> str:
    deep = [e for e in digest.entries if e.analysis.coverage is not None]
    code_unseen = sum(
        1
        for e in deep
        for f in (e.analysis.coverage.files if e.analysis.coverage else ())
        if f.state is FileState.OMITTED and f.reason == "budget"
    )
    counts = digest.counts()
    return (
        f"entries: high {counts[Severity.HIGH]}, medium {counts[Severity.MEDIUM]}, "
        f"low {counts[Severity.LOW]} ({len(deep)} read with their diff); prompt tokens "
        f"{prompt_tokens} vs naive whole-diff prompt {naive} = {prompt_tokens / naive:.1%}; "
        f"files left out for the budget: {code_unseen} (each named in its entry's coverage)"
    )


async def outage(commits: list[Commit], hang: bool) -> str:
    with tempfile.TemporaryDirectory() as tmp, OpenAIEmulator() as emu:
        store = SqlStore(create_engine(fresh_database(tmp)))
        emu.hang = hang
        base = emu.base_url if hang else dead_endpoint()
        config = ModelConfig.model_validate(
            {"api_key": "test-key", "base_url": base, "timeout_seconds": 5}
        )
        client = OpenAIModelClient(config)
        engine = engine_for(client, store, config.model)
        started = time.perf_counter()
        digest = await engine.build(ListSource("acme/shop", commits), DayWindow(DAY, TZ), "en")
        wall = time.perf_counter() - started
        await client.close()
        await store.close()
    fallen = sum(1 for e in digest.entries if e.analysis.fallback_reason)
    what = "hanging endpoint (timeout 5 s)" if hang else "dead endpoint (connection refused)"
    return (
        f"{what}: {wall:.2f} s, {fallen} of {len(digest.entries)} entries by the rules, "
        f"model_unreachable={digest.usage.model_unreachable}, requests seen {len(emu.requests)}"
    )


async def main_async(args: argparse.Namespace) -> None:
    DATABASE["url"] = args.database
    commits = realistic_day(tz=TZ)[: args.commits]
    if args.calm:
        commits = [calm(c) for c in commits]
    naive = naive_prompt_tokens(commits)
    print(f"command: python bench/digest_llm.py {' '.join(sys.argv[1:])}")
    print(f"day: {len(commits)} commits, {sum(len(c.files) for c in commits)} files")
    print(
        "| L | C | waves | wall | floor (fetch + L) | ratio | goal | "
        "dependency floor | ratio | calls |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    last: Run | None = None
    for latency in args.latency:
        for concurrency in args.concurrency:
            runs = [await build(commits, latency, concurrency, None) for _ in range(args.repeats)]
            print(row(latency, concurrency, runs, commits), flush=True)
            last = runs[-1]
    assert last is not None
    print(coverage_line(last.digest, naive, last.prompt_tokens))
    for concurrency in (16, 64) if args.provider_limit else ():
        run = await build(commits, args.latency[0], concurrency, args.provider_limit)
        fallen = sum(1 for e in run.digest.entries if e.analysis.fallback_reason)
        print(
            f"provider allowing {args.provider_limit} concurrent calls, client C={concurrency}, "
            f"L={args.latency[0]:g} s: {run.rate_limited} answers 429, wall {run.wall:.2f} s, "
            f"{fallen} entries fell back"
        )
    if args.outages:
        print(await outage(commits, hang=False))
        print(await outage(commits, hang=True))


def main() -> None:
    """Parse the flags and run the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=40)
    parser.add_argument("--latency", type=float, nargs="+", default=[2.0, 5.0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 16, 4])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--provider-limit", type=int, default=8, help="0: skip the 429 runs")
    parser.add_argument("--outages", action="store_true", help="also a dead and a hanging model")
    parser.add_argument("--database", help="a PostgreSQL URL to use (emptied each run)")
    parser.add_argument(
        "--calm", action="store_true", help="a day on which triage rates no commit up"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
