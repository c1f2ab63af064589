"""Benchmark: the real processes (`digestbot clock` + N `digestbot worker`) post a morning.

Every subscription (one repository, one Slack channel, a 30-commit day) is due when the clock
starts, so its catch-up enqueues them all at once; workers build through the model and post
through Slack with the production pacing (one message a second per channel). The emulators
(GitHub, OpenAI, Slack, with latencies) run in this process. For each run it prints the time
from the clock's start until every post is complete, model calls, Slack messages, the
exactly-once check made from the Slack emulator's record (every part of every post once, in
order, under one summary), and each worker's peak RSS. `--kill` adds a run in which one worker
is killed with SIGKILL once a quarter of the posts are complete.

    .venv/bin/python bench/fleet.py --subscriptions 200 --commits 30 --workers 1 2 4 --kill
    (PostgreSQL: --database postgresql+psycopg://digestbot:digestbot@127.0.0.1:5432/DB, wiped)
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text

from bot.storage.database import sync_url
from tests.conftest import _reset_postgres
from tests.emulators.environment import emulated_env
from tests.emulators.github_api import GitHubEmulator
from tests.emulators.loopback import LoopbackServer
from tests.emulators.openai_api import OpenAIEmulator
from tests.emulators.slack_api import SlackEmulator
from tests.factories import day_of_commits

DEFAULT_DB = "postgresql+psycopg://digestbot:digestbot@127.0.0.1:5432/digestbot_fleet"


@dataclass
class Run:
    """What one run measured."""

    workers: int
    killed: bool
    seconds: float = 0.0
    model_calls: int = 0
    messages: int = 0
    problems: list[str] = field(default_factory=list)
    peak_rss_mib: list[int] = field(default_factory=list)
    clock_rss_mib: int = 0
    model_peak: int = 0
    connections: int = 0
    cpu_seconds: float = 0.0
    emulator_cpu_seconds: float = 0.0
    github_peak_minute: int = 0


def repo_day(index: int, commits: int, day: date) -> list[object]:
    start = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)
    return [
        replace(
            c, sha=f"{index:04d}{n:04d}" + "f" * 32, committed_at=start + timedelta(minutes=20 * n)
        )
        for n, c in enumerate(day_of_commits(commits, repo=f"acme/r{index:03d}"))
    ]


def write_config(path: Path, args: argparse.Namespace) -> None:
    lines = [f"[queue]\nconcurrency = {args.concurrency}\n"]
    if args.model_slots:
        lines.append(f"model_slots = {args.model_slots}\n")
    if args.github_per_minute:
        lines.append(f"github_per_minute = {args.github_per_minute}\n")
    subscriptions = args.subscriptions
    for i in range(subscriptions):
        lines.append(
            f'[[subscription]]\nname = "s{i:03d}"\nrepos = ["acme/r{i:03d}"]\n'
            f'slack_channel = "C{i:04d}"\ntime = "00:00"\ntz = "UTC"\n'
        )
    path.write_text("\n".join(lines), encoding="utf-8")


def done_posts(url: str) -> int:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM deliveries WHERE state = 'done'")
                ).scalar_one()
            )
    except Exception:  # the tables do not exist until the clock has migrated
        return 0
    finally:
        engine.dispose()


def connections(url: str) -> int:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            return int(conn.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def peak_rss_mib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1]) // 1024


def exactly_once(slack: SlackEmulator, subscriptions: int) -> list[str]:
    """Every channel: one summary, each part once, parts 0..n-1 (from the Slack record)."""
    problems = []
    for i in range(subscriptions):
        messages = slack.channel_messages(f"C{i:04d}")
        markers = [m.metadata["event_payload"]["part"] for m in messages if m.metadata]
        positions = sorted(int(m.rsplit(":", 1)[1]) for m in markers)
        roots = sum(m.thread_ts is None for m in messages)
        if roots != 1 or len(markers) != len(messages) or positions != list(range(len(messages))):
            problems.append(
                f"C{i:04d}: {len(messages)} messages, {roots} summaries, parts {positions}"
            )
    return problems


class Watched:
    """Counts requests in flight (latency included) and when each arrived."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.arrivals: list[float] = []

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.arrivals.append(time.monotonic())

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def busiest_minute(self) -> int:
        times = sorted(self.arrivals)
        start, best = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] > 60:
                start += 1
            best = max(best, end - start + 1)
        return best


class WatchedDispatch(LoopbackServer):
    """An emulator that also counts its requests in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.watch = Watched()

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        self.watch.enter()
        try:
            super()._dispatch(handler)
        finally:
            self.watch.leave()


class WatchedModel(WatchedDispatch, OpenAIEmulator):
    pass


class WatchedGitHub(WatchedDispatch, GitHubEmulator):
    pass


class Emulators:
    def __init__(self, args: argparse.Namespace, day: date) -> None:
        self.github = WatchedGitHub().start()
        self.model = WatchedModel().start()
        self.slack = SlackEmulator().start()
        self.github.latency, self.model.latency, self.slack.latency = (
            args.github_latency,
            args.model_latency,
            args.slack_latency,
        )
        for i in range(args.subscriptions):
            self.github.add_repo(f"acme/r{i:03d}", repo_day(i, args.commits, day))  # type: ignore[arg-type]

    def env(self, url: str) -> dict[str, str]:
        queue = {"DATABASE_URL": url, "DIGESTBOT_QUEUE": "postgres"}
        return {**os.environ, **queue, **emulated_env(self.github, self.model, self.slack)}

    def stop(self) -> None:
        for emulator in (self.github, self.model, self.slack):
            emulator.stop()


def run(args: argparse.Namespace, workers: int, kill: bool, config: Path, logs: Path) -> Run:
    result = Run(workers, kill)
    _reset_postgres(args.database)  # the bench's database is wiped on every run
    emulators = Emulators(args, datetime.now(UTC).date() - timedelta(days=1))
    env = emulators.env(args.database)
    base = [sys.executable, "-m", "digestbot"]
    subprocess.run([*base, "migrate", "--config", str(config)], env=env, check=True)

    def start(role: str, name: str) -> subprocess.Popen[bytes]:
        log = (logs / f"{name}-w{workers}{'-kill' if kill else ''}.log").open("wb")
        return subprocess.Popen([*base, role, "--config", str(config)], env=env, stderr=log)

    pool = [start("worker", f"worker{n}") for n in range(workers)]
    emulator_cpu = time.process_time()  # this process: the three emulators
    started = time.perf_counter()
    clock = start("clock", "clock")
    watch(args, result, pool, started)
    result.emulator_cpu_seconds = time.process_time() - emulator_cpu
    result.clock_rss_mib = peak_rss_mib(clock.pid)
    result.cpu_seconds = sum(cpu_seconds(p.pid) for p in [clock, *pool])
    for process in [clock, *pool]:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in [clock, *pool]:
        process.wait(timeout=60)
    tally(args, result, emulators)
    emulators.stop()
    return result


def watch(
    args: argparse.Namespace, result: Run, pool: list[subprocess.Popen[bytes]], started: float
) -> None:
    """Until every post is done: sample memory and connections; kill a worker if asked."""
    peaks = [0] * len(pool)
    killed = False
    deadline = started + args.timeout
    while (done := done_posts(args.database)) < args.subscriptions:
        if time.perf_counter() > deadline:
            break
        peaks = [max(p, peak_rss_mib(w.pid)) for p, w in zip(peaks, pool, strict=True)]
        result.connections = max(result.connections, connections(args.database))
        if result.killed and not killed and done >= args.subscriptions // 4:
            pool[0].send_signal(signal.SIGKILL)
            killed = True
            print(f"  killed worker 0 (pid {pool[0].pid}) after {done} posts", flush=True)
        time.sleep(0.5)
    result.seconds = time.perf_counter() - started
    result.peak_rss_mib = [max(p, peak_rss_mib(w.pid)) for p, w in zip(peaks, pool, strict=True)]


def tally(args: argparse.Namespace, result: Run, emulators: Emulators) -> None:
    """What the emulators saw, and the exactly-once check from Slack's record."""
    result.model_calls = len(emulators.model.calls())
    result.model_peak = emulators.model.watch.peak
    result.github_peak_minute = emulators.github.watch.busiest_minute()
    result.messages = len([p for p in emulators.slack.posted if p.user is None])
    result.problems = exactly_once(emulators.slack, args.subscriptions)
    complete = done_posts(args.database)
    if complete < args.subscriptions:
        result.problems.append(f"only {complete} posts complete")


def report(result: Run, subscriptions: int) -> str:
    label = f"{result.workers} worker{'s' if result.workers > 1 else ''}"
    if result.killed:
        label += ", one SIGKILLed"
    check = "exactly once: yes" if not result.problems else f"PROBLEMS: {result.problems[:3]}"
    rss = ", ".join(f"{m}" for m in result.peak_rss_mib)
    return (
        f"{label}: {subscriptions} posts complete in {result.seconds:.1f} s "
        f"({subscriptions / result.seconds:.2f} posts/s; CPU of clock and live workers "
        f"{result.cpu_seconds:.0f} s, of the emulators {result.emulator_cpu_seconds:.0f} s); "
        f"model calls {result.model_calls}; "
        f"Slack messages {result.messages}; {check}; peak RSS per worker MiB [{rss}], "
        f"clock {result.clock_rss_mib}; model calls in flight at most {result.model_peak}; "
        f"GitHub requests in the busiest minute {result.github_peak_minute}; "
        f"PostgreSQL connections at most {result.connections}"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscriptions", type=int, default=200)
    parser.add_argument("--commits", type=int, default=30)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--kill", action="store_true", help="add a run that SIGKILLs one worker")
    parser.add_argument("--kill-workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8, help="jobs at once per worker")
    parser.add_argument("--database", default=DEFAULT_DB)
    parser.add_argument("--github-latency", type=float, default=0.03)
    parser.add_argument("--model-latency", type=float, default=0.3)
    parser.add_argument("--slack-latency", type=float, default=0.03)
    parser.add_argument("--model-slots", type=int, help="[queue] model_slots (fleet-wide)")
    parser.add_argument("--github-per-minute", type=int, help="[queue] github_per_minute")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--logs", default="/tmp/digestbot-fleet-logs")
    return parser.parse_args()


def uptime() -> str:
    return subprocess.run(["uptime"], check=False, capture_output=True, text=True).stdout.strip()


def main() -> None:
    args = parse_args()
    print("$ " + " ".join(["bench/fleet.py", *sys.argv[1:]]))
    print(f"load before: {uptime()}")
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "fleet.toml"
        write_config(config, args)
        logs = Path(args.logs)
        logs.mkdir(parents=True, exist_ok=True)
        print(f"process logs in {logs}")
        plan = [(w, False) for w in args.workers] + (
            [(args.kill_workers, True)] if args.kill else []
        )
        for workers, kill in plan:
            result = run(args, workers, kill, config, logs)
            print(report(result, args.subscriptions), flush=True)
    print(f"load after: {uptime()}")


if __name__ == "__main__":
    main()
