"""Benchmark: `digestbot digest` of one commit whose diff is huge (default 100 MB), local git.

Builds a repository (git fast-import) with one commit adding a generated text file of --mb
megabytes in ~60-byte lines, plus --oneline megabytes on a single line (minified code), then
runs the digest --runs times in a fresh process each and prints the medians of: wall time,
peak RSS of the digestbot process itself, peak RSS of its git child, and the database size.

    .venv/bin/python bench/huge_diff.py --mb 100 --oneline 10 --runs 3
    .venv/bin/python bench/huge_diff.py --tree /tmp/old-tree   # the same against other code
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAY = "2026-02-19"
STAMP = 1771502400  # 2026-02-19 12:00 UTC

# Runs the real entry point, then reports its own peak RSS (VmHWM, KiB: this process since its
# exec) and the largest child's (git) as the kernel counts it.
_PROBE = """
import resource, sys
from digestbot.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:
    me = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"PROBE {code} {me} {kids}", file=sys.stderr)
"""


_LINE = b"generated_value_%09d = compute(alpha, beta, gamma, delta)\n"


def build_repo(path: Path, mb: int, oneline_mb: int) -> int:
    """A repository with a seed commit and one commit adding the huge file; its size.

    The file is streamed into git fast-import, so this process never holds it: a child forked
    from a big process would otherwise count the parent's pages in its own peak RSS.
    """
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    count = mb * 1024 * 1024 // len(_LINE % 0)
    size = count * len(_LINE % 0) + oneline_mb * 1024 * 1024 + 1
    importer = subprocess.Popen(
        ["git", "-C", str(path), "fast-import", "--quiet"], stdin=subprocess.PIPE
    )
    assert importer.stdin is not None
    write = importer.stdin.write
    head = b"commit refs/heads/main\ncommitter Bench <b@e.com> %d +0000\n"
    write(head % (STAMP - 86400) + b"data 11\nchore: seed\nM 100644 inline README\ndata 6\nhello\n")
    write(head % STAMP + b"data 21\nfeat: generated data\n")
    write(b"M 100644 inline src/small.py\ndata 6\nx = 1\n")
    write(b"M 100644 inline data/generated.py\ndata %d\n" % size)
    for start in range(0, count, 10_000):
        write(b"".join(_LINE % i for i in range(start, min(start + 10_000, count))))
    for _ in range(oneline_mb):
        write(b"x" * (1024 * 1024))
    write(b"\n\n")
    importer.stdin.close()
    if importer.wait() != 0:
        raise SystemExit("git fast-import failed")
    return size


def run_once(repo: Path, work: Path, tree: Path) -> tuple[float, float, float, float]:
    """(seconds, digestbot peak MiB, git peak MiB, database MiB) of one fresh digest process."""
    database = work / f"db-{time.monotonic_ns()}.sqlite3"
    argv = [
        sys.executable, "-c", _PROBE, "digest", "--repo", str(repo), "--date", DAY,
        "--tz", "UTC", "--analyzer", "rules", "--database", f"sqlite:///{database}",
        "--out", os.devnull,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("OPENAI_API_KEY", None)
    started = time.perf_counter()
    # cwd: `python -c` puts the working folder first on sys.path, which must not be a tree.
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=work, check=False)
    seconds = time.perf_counter() - started
    probe = [line for line in done.stderr.splitlines() if line.startswith("PROBE ")]
    if not probe or probe[-1].split()[1] != "0":
        raise SystemExit(f"digest failed:\n{done.stderr[-2000:]}")
    _, _, me, kids = probe[-1].split()
    return seconds, int(me) / 1024, int(kids) / 1024, database.stat().st_size / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="MB of ~60-byte lines")
    parser.add_argument("--oneline", type=int, default=0, help="MB more on one single line")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tree", type=Path, default=ROOT, help="source tree to run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        size = build_repo(work / "repo", args.mb, args.oneline)
        runs = [run_once(work / "repo", work, args.tree) for _ in range(args.runs)]
    med = [statistics.median(r[i] for r in runs) for i in range(4)]
    print(f"$ {' '.join(sys.argv)}")
    print(f"tree: {args.tree}; load: {os.getloadavg()[0]:.2f} (1-min average)")
    print(f"diff: {size / 2**20:.0f} MiB added in one file ({args.oneline} MiB on one line)")
    each = ", ".join(f"{r[0]:.2f} s / {r[1]:.0f} MiB" for r in runs)
    print(f"runs (wall / digestbot peak RSS): {each}")
    print(f"wall time: median {med[0]:.2f} s")
    print(f"peak RSS digestbot: median {med[1]:.0f} MiB")
    print(f"peak RSS of the largest child (git): median {med[2]:.0f} MiB")
    print(f"database after the run: {med[3]:.2f} MiB")


if __name__ == "__main__":
    main()
