"""Benchmark: what the telemetry costs, and what platform isolation buys at start-up.

1. `emit()` of one event (a post's closing line): microseconds per call, logging at INFO to an
   in-memory stream, beside the same line through logging alone, and with the Prometheus sink
   (median of `--repeat` batches of 10,000, after a warm-up batch).
2. `/metrics`: the size and render time of the exposition after a busy day's events.
3. `digestbot web` with Telegram answering 502 (a proxy in front of a Telegram that is down):
   wall time from spawn to the first 200 from /healthz, or how the process ended, per source
   tree (another tree, e.g. the commit before this work, goes first on PYTHONPATH).

    .venv/bin/python bench/observability.py --repeat 5 --tree /tmp/base --tree .
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.config import load_settings
from bot.storage.database import migrate
from bot.telemetry import MessageSent, PostFinished, PostIds, emit, install
from digestbot.logs import configure_logging
from digestbot.metrics import PrometheusSink
from tests.emulators.loopback import LoopbackServer, Request, Response
from tests.served import free_port

EVENTS = 10_000
POST = PostIds("daily-team:slack:C0123::acme/api:2026-03-02:UTC:en", "slack", "C0123", "acme/api")


class Down(LoopbackServer):
    """Every Bot API call answered 502 with an HTML page, as a proxy does."""

    def handle(self, request: Request) -> Response:
        return Response(502, "<html>502 Bad Gateway</html>")


def emit_micros(repeat: int, how: str) -> float:
    """Median microseconds per call over `repeat` batches of EVENTS.

    `how`: "log" is the same line through logging alone (the floor: formatting and redaction),
    "emit" the event without a sink, "sink" the event with the Prometheus sink installed.
    """
    configure_logging(load_settings({}), {"LOG_FORMAT": "json"}, stream=io.StringIO())
    uninstall = install(PrometheusSink()) if how == "sink" else None
    event = PostFinished(POST, "posted", 9, 9, 9.4)
    log = logging.getLogger("bench")
    text, ids = event.message(), event.ids()

    def once() -> None:
        if how == "log":
            log.info(text, extra=ids)
        else:
            emit(event, log)

    for _ in range(EVENTS):  # warm-up: the first batch pays for regex and allocator warm-up
        once()
    batches = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(EVENTS):
            once()
        batches.append((time.perf_counter() - started) / EVENTS * 1e6)
    if uninstall:
        uninstall()
    return statistics.median(batches)


def exposition(repeat: int) -> tuple[int, float]:
    """Bytes and median milliseconds of /metrics after a day of events."""
    sink = PrometheusSink()
    sink.known_platforms(["slack", "telegram"])
    for platform in ("slack", "telegram"):
        for _ in range(500):
            sink.record(MessageSent(platform, "C0123"))
        sink.record(PostFinished(POST, "posted", 9, 9, 9.4))
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        body = sink.exposition()
        times.append((time.perf_counter() - started) * 1e3)
    return len(body), statistics.median(times)


def time_to_health(tree: Path, api_url: str, database: str) -> tuple[float, str]:
    """Seconds from spawn to a 200 from /healthz, and what happened."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_"))},
        "PYTHONPATH": str(tree),
        "TELEGRAM_BOT_TOKEN": "123:TEST",
        "TELEGRAM_API_URL": api_url,
    }
    command = [sys.executable, "-m", "digestbot", "web", "--port", str(port)]
    started = time.monotonic()
    process = subprocess.Popen(
        [*command, "--database", database],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                    return time.monotonic() - started, "served /healthz"
            except OSError:
                time.sleep(0.02)
        return time.monotonic() - started, f"exited {process.returncode}, nothing served"
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    """Print the figures and the command that made them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tree", type=Path, action="append", help="source tree (default: .)")
    args = parser.parse_args()
    print("$", " ".join([Path(sys.executable).name, *sys.argv]))
    print("load:", os.getloadavg(), f"cpus: {os.cpu_count()}")
    floor, bare, sunk = (emit_micros(args.repeat, how) for how in ("log", "emit", "sink"))
    print(
        f"one JSON line at INFO: logging alone {floor:.1f} µs; emit() {bare:.1f} µs; "
        f"emit() with the Prometheus sink {sunk:.1f} µs"
    )
    size, millis = exposition(args.repeat)
    print(f"/metrics after 1,002 events: {size} bytes, rendered in {millis:.2f} ms")
    with tempfile.TemporaryDirectory() as folder, Down() as down:
        database = f"sqlite:///{folder}/bench.sqlite3"
        migrate(database)
        for tree in [t.resolve() for t in (args.tree or [Path(".")])]:
            runs = [time_to_health(tree, f"{down.url}/bot", database) for _ in range(args.repeat)]
            seconds = statistics.median(s for s, _ in runs)
            outcomes = sorted({what for _, what in runs})
            print(f"{tree}: Telegram 502 → {', '.join(outcomes)} after {seconds:.2f} s (median)")


if __name__ == "__main__":
    main()
