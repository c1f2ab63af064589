"""Benchmark: reading a big local day (LocalGitSource.commits) — time, memory, open-file limits.

Builds a day of N commits with real code diffs (each commit adds one real Python module from
this machine's site-packages and edits an earlier one), then reads the day in a fresh process
per run and prints medians of the wall time, the reader's peak RSS, MB of diff per second, and
whether it completes under a low open-file limit (`ulimit -n`). `--tree` runs other code (an
older checkout) side by side; a run that does not finish within --timeout is shown as hung.

    .venv/bin/python bench/local_day.py --commits 250 500 1000 --runs 3
    .venv/bin/python bench/local_day.py --commits 500 --tree /tmp/old-tree --nofile 512
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAMP = 1771459200  # 2026-02-19 00:00 UTC

_PROBE = """
import asyncio, sys, time
from datetime import date
from pathlib import Path
from bot.days import DayWindow
from bot.sources.local_git import LocalGitSource
start = time.perf_counter()
day = DayWindow(date(2026, 2, 19), "UTC")
commits = asyncio.run(LocalGitSource(Path(sys.argv[1])).commits(day))
seconds = time.perf_counter() - start
with open("/proc/self/status") as status:  # peak RSS since exec (ru_maxrss counts the fork)
    me = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(f"PROBE {len(commits)} {seconds} {me}")
"""


def _modules(count: int) -> list[bytes]:
    """Real source files: the standard library's and site-packages' Python modules."""
    found: list[bytes] = []
    for folder in (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"]):
        for path in sorted(Path(folder).rglob("*.py")):
            data = path.read_bytes()
            if 2_000 < len(data) < 200_000:
                found.append(data)
            if len(found) >= count:
                return found
    return found


def build_day(path: Path, count: int) -> None:
    """`count` commits on 2026-02-19: commit i adds module i and rewrites the middle of i-1."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    modules = _modules(count)
    parts: list[bytes] = []
    for i in range(count):
        message = f"feat: module {i}\n".encode()
        parts.append(b"commit refs/heads/main\ncommitter Bench <b@e.com> %d +0000\n" % (STAMP + i))
        parts.append(b"data %d\n%s" % (len(message), message))
        body = modules[i % len(modules)]
        parts.append(b"M 100644 inline src/m%d.py\ndata %d\n%s\n" % (i, len(body), body))
        if i:
            old = modules[(i - 1) % len(modules)]
            cut = len(old) // 3
            edited = old[:cut] + old[cut : 2 * cut].upper() + old[2 * cut :]
            parts.append(
                b"M 100644 inline src/m%d.py\ndata %d\n%s\n" % (i - 1, len(edited), edited)
            )
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"], input=b"".join(parts), check=True
    )


def diff_bytes(path: Path) -> int:
    """Bytes of `git log -p` output for the day: what the reader has to get through."""
    out = subprocess.run(
        ["git", "-C", str(path), "log", "-p", "--root", "--format=%H"],
        capture_output=True,
        check=True,
    )
    return len(out.stdout)


def read_once(repo: Path, tree: Path, nofile: int | None, timeout: float) -> tuple[float, float]:
    """(seconds, peak MiB) of one fresh reader; raises TimeoutError when it hangs."""

    def limit() -> None:
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    env = {**os.environ, "PYTHONPATH": str(tree)}
    argv = [sys.executable, "-c", _PROBE, str(repo)]
    # cwd: `python -c` puts the working folder first on sys.path, which must not be a tree.
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=env,
        cwd=repo.parent,
        preexec_fn=limit,
        timeout=timeout,
        check=False,
    )
    probe = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    if not probe:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        raise RuntimeError(last[:160])
    _, _, seconds, me = probe[-1].split()
    return float(seconds), int(me) / 1024


def measure(repo: Path, args: argparse.Namespace, size: int, count: int) -> str:
    try:
        runs = [read_once(repo, args.tree, args.nofile, args.timeout) for _ in range(args.runs)]
    except subprocess.TimeoutExpired:
        return f"{count} commits: did not finish in {args.timeout:.0f} s (hung)"
    except RuntimeError as exc:
        return f"{count} commits: failed: {exc}"
    seconds = statistics.median(r[0] for r in runs)
    peak = statistics.median(r[1] for r in runs)
    return (
        f"{count} commits, {size / 2**20:.1f} MiB of diff: median {seconds:.2f} s "
        f"({size / 2**20 / seconds:.0f} MiB/s), peak RSS {peak:.0f} MiB "
        f"[runs: {', '.join(f'{r[0]:.2f}' for r in runs)} s]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, nargs="+", default=[250, 500, 1000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tree", type=Path, default=ROOT, help="source tree to run")
    parser.add_argument("--nofile", type=int, default=None, help="ulimit -n for the reader")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    print(f"$ {' '.join(sys.argv)}")
    print(
        f"tree: {args.tree}; ulimit -n: {args.nofile or 'unchanged'}; load {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.commits:
            repo = Path(tmp) / f"day{count}"
            build_day(repo, count)
            print(measure(repo, args, diff_bytes(repo), count), flush=True)


if __name__ == "__main__":
    main()
