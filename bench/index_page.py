"""Benchmark: a repository's index page (`/repos/OWNER/NAME`, `/api/repos/…`) over many days.

Stores N days of digests (each --commits commits of real code diffs from this machine's
Python modules, rules-analyzed) through the tree's own store, then serves the index in a
fresh process of that tree (Starlette over httpx's ASGI transport, the real routes and store)
and prints the median time of --requests requests per page and how much the process's memory
grew while serving them (VmHWM reset before the requests, through /proc/self/clear_refs).
`--tree` runs other code side by side (each tree gets a database written by its own code).

    .venv/bin/python bench/index_page.py --days 100 400
    .venv/bin/python bench/index_page.py --days 100 400 --tree /tmp/old-tree
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Writes N days through the tree's store: works with the store before and after digests
# became summary rows (both take whole commits first, then the digest).
_POPULATE = """
import asyncio, sys, sysconfig
from dataclasses import replace
from datetime import date, datetime, timedelta, UTC
from pathlib import Path
from bot.analyzers.rules import RulesAnalyzer
from bot.config import RulesConfig
from bot.models import DigestEntry, RepoDigest
from bot.storage.database import create_engine, migrate
from bot.storage.sql_store import SqlStore
from tests.factories import change, commit

url, days, per_day = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
texts = []
for path in sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py")):
    data = path.read_text(errors="replace")
    if 4_000 < len(data) < 40_000:
        texts.append(data)
    if len(texts) >= 2 * per_day:
        break
patches = ["@@ -0,0 +1 @@\\n" + "".join(f"+{ln}\\n" for ln in t.splitlines()) for t in texts]

async def main():
    migrate(url)
    store = SqlStore(create_engine(url))
    rules = RulesAnalyzer(RulesConfig())
    first = date(2026, 2, 19) - timedelta(days=days - 1)
    for d in range(days):
        day = first + timedelta(days=d)
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        commits = []
        for i in range(per_day):
            files = tuple(
                replace(change(f"src/p{k}/m{i}.py", p.count("\\n+")), patch=p)
                for k, p in enumerate(patches[2 * i : 2 * i + 2])
            )
            sha = f"{d:05d}{i:04d}".ljust(40, "a")
            commits.append(commit(f"feat: part {i} of day {d} (#{d * 100 + i})", *files, sha=sha,
                                  when=noon + timedelta(minutes=i)))
        for c in commits:
            await store.put_commit(c)
        entries = tuple(DigestEntry(c, rules.analyze_now(c, "en")) for c in commits)
        await store.put_digest(RepoDigest("acme/app", day, "UTC", "en", entries, "A day."))
    await store.close()

asyncio.run(main())
"""

# Serves the index pages and measures them: time per request and the memory they took.
_SERVE = """
import asyncio, statistics, sys, time
import httpx
from starlette.applications import Starlette
from adapters.web.links import LinkSigner
from adapters.web.routes import ReportRoutes
from bot.storage.database import create_engine
from bot.storage.sql_store import SqlStore

def status(field):
    with open("/proc/self/status") as f:
        return int(next(l.split()[1] for l in f if l.startswith(field + ":"))) / 1024

async def main():
    url, requests = sys.argv[1], int(sys.argv[2])
    store = SqlStore(create_engine(url))
    app = Starlette(routes=ReportRoutes(store, LinkSigner(b"s" * 32, ("acme/*",))).routes())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://web") as web:
        await web.get("/repos/acme/none")  # imports, connections, the query: warm
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # VmHWM := current RSS
        base = status("VmRSS")
        for path in ("/repos/acme/app", "/api/repos/acme/app"):
            times = []
            for _ in range(requests):
                start = time.perf_counter()
                answer = await web.get(path)
                times.append(time.perf_counter() - start)
                assert answer.status_code == 200, answer.status_code
            ms, listed = statistics.median(times) * 1000, answer.text.count("/reports/")
            print(f"PROBE {path} {ms:.1f} {listed} {len(answer.content)}")
        print(f"PROBE memory {status('VmHWM') - base:.0f} {status('VmHWM'):.0f}")
    await store.close()

asyncio.run(main())
"""


def _run(tree: Path, work: Path, script: str, *args: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    # cwd: `python -c` puts the working folder first on sys.path, which must not be a tree.
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"failed:\n{done.stderr[-2000:]}")
    return [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("PROBE")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--commits", type=int, default=30, help="commits per day")
    parser.add_argument("--requests", type=int, default=5, help="requests per page")
    parser.add_argument("--tree", type=Path, default=ROOT, help="source tree to run")
    args = parser.parse_args()
    print(f"$ {' '.join(sys.argv)}")
    print(f"tree: {args.tree}; load {os.getloadavg()[0]:.2f} (1-min average)")
    print("| days | database | /repos (median) | /api/repos (median) | memory while serving |")
    print("| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for days in args.days:
            database = work / f"days{days}.sqlite3"
            url = f"sqlite:///{database}"
            _run(args.tree, work, _POPULATE, url, str(days), str(args.commits))
            html, api, memory = _run(args.tree, work, _SERVE, url, str(args.requests))
            size = sum(f.stat().st_size for f in work.glob(f"days{days}.sqlite3*"))
            print(
                f"| {days} ({html[2]} listed) | {size / 2**20:.0f} MiB | {html[1]} ms "
                f"| {api[1]} ms | +{memory[1]} MiB (peak {memory[2]} MiB) |",
                flush=True,
            )
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
