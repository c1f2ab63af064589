"""Benchmark: memory of a real `digestbot web` under unsigned 50 MB POSTs to /slack/events.

Starts the web process from a source tree (this checkout by default, or an older one given with
--tree, to measure side by side), sends `--parallel` unsigned POSTs of `--megabytes` each at
once (half chunked, half with a Content-Length), and prints the answers, the process's resident
memory before and after, and its peak (VmHWM), as medians over `--runs` fresh processes.

    .venv/bin/python bench/hostile_requests.py --runs 3 --parallel 4 --megabytes 50
    .venv/bin/python bench/hostile_requests.py --tree /tmp/old-checkout   # the code before
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.emulators.slack_api import SlackEmulator
from tests.served import clean_env, free_port, post_huge, wait_for

ROOT = Path(__file__).resolve().parent.parent

SECRET = "bench-signing-secret-0123456789abcdef"


def _memory(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines()
    found = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in status if "kB" in line}
    return found["VmRSS"], found["VmHWM"]


def _up(port: int, process: subprocess.Popen[bytes]) -> bool:
    import urllib.request

    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
    except OSError:
        return process.poll() is not None
    return True


def one_run(tree: Path, parallel: int, megabytes: int) -> tuple[float, float, float, Counter[str]]:
    """RSS before, RSS after, peak RSS (MiB) and the answers, for one fresh process."""
    with tempfile.TemporaryDirectory() as tmp, SlackEmulator() as slack:
        port = free_port()
        env = clean_env(
            SLACK_BOT_TOKEN=slack.token,
            SLACK_API_URL=slack.api_url,
            SLACK_SIGNING_SECRET=SECRET,
            PYTHONPATH=str(tree),
        )
        command = [sys.executable, "-m", "digestbot", "web", "--port", str(port)]
        command += ["--database", f"sqlite:///{tmp}/bench.sqlite3"]
        process = subprocess.Popen(
            command, cwd=tree, env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
        try:
            wait_for(lambda: _up(port, process))
            before, _ = _memory(process.pid)
            with ThreadPoolExecutor(parallel) as pool:
                answers = list(
                    pool.map(
                        lambda i: post_huge(
                            port, "/slack/events", megabytes << 20, declared=i % 2 == 0
                        )[0],
                        range(parallel),
                    )
                )
            after, peak = _memory(process.pid)
        finally:
            process.terminate()
            process.wait(30)
    return before, after, peak, Counter(a or "connection closed" for a in answers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", type=Path, default=ROOT, help="source tree to run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--megabytes", type=int, default=50)
    args = parser.parse_args()
    print(f"$ {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"load: {os.getloadavg()[0]:.2f} (1 min), tree: {args.tree}")
    runs = [one_run(args.tree.resolve(), args.parallel, args.megabytes) for _ in range(args.runs)]
    before = statistics.median(r[0] for r in runs)
    after = statistics.median(r[1] for r in runs)
    peak = statistics.median(r[2] for r in runs)
    answers = sum((r[3] for r in runs), Counter())
    print(f"{args.parallel} x {args.megabytes} MB unsigned POST /slack/events, {args.runs} runs")
    print(f"answers: {dict(answers)}")
    grown = after - before
    print(f"RSS before {before:.0f} MiB, after {after:.0f} MiB (+{grown:.0f}); peak {peak:.0f} MiB")


if __name__ == "__main__":
    main()
