"""Benchmark: one report of 10 repositories against one of 1, through GitHub with latency.

The GitHub REST emulator (tests/emulators/github_api.py) serves --repos repositories of
--commits commits each and answers every request after --latency seconds; `digestbot digest
--repo acme/r0 … --analyzer rules` runs as a fresh process per run with a fresh database (so
every commit is fetched). With --model-latency the OpenAI emulator answers every model call
after that many seconds and the digest uses `--analyzer llm`. Prints the median wall time of
--runs runs for 1 repository and for all of them, the ratio, and the requests GitHub saw.
`--tree` runs other code side by side.

    .venv/bin/python bench/many_repos.py --repos 10 --commits 20 --latency 0.1 --runs 3
    .venv/bin/python bench/many_repos.py --repos 10 --latency 0.1 --tree /tmp/old-tree
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.emulators.github_api import GitHubEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.factories import day_of_commits

ROOT = Path(__file__).resolve().parent.parent


def digest_once(names: list[str], work: Path, tree: Path, env: dict[str, str]) -> float:
    """Seconds of one fresh `digestbot digest` of the repositories named."""
    database = work / f"db-{time.monotonic_ns()}.sqlite3"
    argv = [sys.executable, "-m", "digestbot", "digest", "--date", "2026-02-19", "--tz", "UTC"]
    argv += [a for name in names for a in ("--repo", name)]
    argv += ["--database", f"sqlite:///{database}", "--out", os.devnull]
    argv += ["--analyzer", "llm" if "OPENAI_API_KEY" in env else "rules"]
    started = time.perf_counter()
    # cwd: `python -m` puts the working folder first on sys.path, which must not be a tree.
    env = {**env, "PYTHONPATH": str(tree)}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=work, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"digest failed:\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=10)
    parser.add_argument("--commits", type=int, default=20, help="commits per repository")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per GitHub answer")
    parser.add_argument("--model-latency", type=float, default=0.0, help="seconds per model call")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tree", type=Path, default=ROOT, help="source tree to run")
    args = parser.parse_args()
    print(f"$ {' '.join(sys.argv)}")
    print(f"tree: {args.tree}; load {os.getloadavg()[0]:.2f} (1-min average)")
    names = [f"acme/r{i}" for i in range(args.repos)]
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        github = stack.enter_context(GitHubEmulator())
        github.latency = args.latency
        for name in names:
            github.add_repo(name, day_of_commits(args.commits, repo=name))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GITHUB_"))}
        env["GITHUB_API_URL"] = github.url
        if args.model_latency:
            model = stack.enter_context(OpenAIEmulator())
            model.call_latency = args.model_latency
            env.update(OPENAI_API_KEY="test-key", OPENAI_BASE_URL=model.base_url)
        rows = {}
        for group in (names[:1], names):
            github.requests.clear()
            runs = [digest_once(group, Path(tmp), args.tree, env) for _ in range(args.runs)]
            rows[len(group)] = (statistics.median(runs), len(github.requests) // args.runs, runs)
    print(f"GitHub latency {args.latency} s, model latency {args.model_latency} s")
    for count, (median, requests, runs) in rows.items():
        each = ", ".join(f"{r:.2f}" for r in runs)
        print(f"{count} repositories: median {median:.2f} s [{each}], {requests} GitHub requests")
    one, many = rows[1][0], rows[len(names)][0]
    print(f"{len(names)} repositories / 1: {many / one:.2f} x")
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
