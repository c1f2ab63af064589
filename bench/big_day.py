"""Benchmark: `digestbot digest` of a big local day (250/500/1,000 commits): time, memory, DB.

Builds a day of N commits with real code diffs (each commit adds --files real Python modules
from this machine's standard library and site-packages and rewrites the middle of the ones
the previous commit added), then runs the real `digestbot digest --analyzer rules` in a fresh
process per run (a fresh SQLite database each) and prints medians of: wall time, the digest
process's own peak RSS (VmHWM), the database size, and how many times the database holds the
day's patch text (its size over the stored patches' size). `--tree` runs other code side by side.

    .venv/bin/python bench/big_day.py --commits 250 500 1000 --files 3 --runs 3
    .venv/bin/python bench/big_day.py --commits 1000 --tree /tmp/old-tree
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.huge_diff import run_once
from bench.local_day import STAMP, _modules

ROOT = Path(__file__).resolve().parent.parent


def _edited(module: bytes) -> bytes:
    cut = len(module) // 3
    return module[:cut] + module[cut : 2 * cut].upper() + module[2 * cut :]


def build_day(path: Path, count: int, files: int) -> None:
    """`count` commits on the day: commit i adds `files` modules and edits commit i-1's."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    modules = _modules(count * files)
    importer = subprocess.Popen(
        ["git", "-C", str(path), "fast-import", "--quiet"], stdin=subprocess.PIPE
    )
    assert importer.stdin is not None
    for i in range(count):
        message = f"feat(m{i}): module batch {i}\n\nAdds {files} modules.\n".encode()
        head = b"commit refs/heads/main\ncommitter Bench <b@e.com> %d +0000\n" % (STAMP + 60 * i)
        parts = [head, b"data %d\n%s" % (len(message), message)]
        for k in range(files):
            body = modules[(i * files + k) % len(modules)]
            parts.append(b"M 100644 inline src/p%d/m%d.py\ndata %d\n%s\n" % (k, i, len(body), body))
            if i:
                old = _edited(modules[((i - 1) * files + k) % len(modules)])
                parts.append(
                    b"M 100644 inline src/p%d/m%d.py\ndata %d\n%s\n" % (k, i - 1, len(old), old)
                )
        importer.stdin.write(b"".join(parts))
    importer.stdin.close()
    if importer.wait() != 0:
        raise SystemExit("git fast-import failed")


def diff_bytes(path: Path) -> int:
    """Bytes of `git log -p` output for the day: the diff the digest has to get through."""
    git = subprocess.Popen(
        ["git", "-C", str(path), "log", "-p", "--root", "--format=%H"], stdout=subprocess.PIPE
    )
    out = git.stdout
    assert out is not None
    size = sum(len(chunk) for chunk in iter(lambda: out.read(1 << 20), b""))
    git.wait()
    return size


def stored_patch_bytes(database: Path) -> int:
    """UTF-8 bytes of the patch text the stored commits carry (what one copy would need)."""
    probe = """
import json, sqlite3, sys, zlib
db = sqlite3.connect(sys.argv[1])
columns = [r[1] for r in db.execute("PRAGMA table_info(commits)")]
total = 0
if "files" in columns:
    for (blob,) in db.execute("SELECT files FROM commits"):
        files = json.loads(zlib.decompress(blob))
        total += sum(len((f["patch"] or "").encode()) for f in files)
else:
    for (text,) in db.execute("SELECT payload FROM commits"):
        total += sum(len((f["patch"] or "").encode()) for f in json.loads(text)["files"])
print(total)
"""
    done = subprocess.run(
        [sys.executable, "-c", probe, str(database)], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def digest_once(repo: Path, work: Path, tree: Path) -> tuple[float, float, float, Path]:
    """(seconds, digestbot peak MiB, CPU seconds, database) of one fresh digest process."""
    folder = Path(tempfile.mkdtemp(dir=work))
    before = os.times()
    seconds, peak, _, _ = run_once(repo, folder, tree)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    [database] = folder.glob("db-*.sqlite3")
    return seconds, peak, cpu, database


def measure(repo: Path, work: Path, args: argparse.Namespace, count: int) -> str:
    size = diff_bytes(repo)
    runs = [digest_once(repo, work, args.tree) for _ in range(args.runs)]
    seconds = statistics.median(r[0] for r in runs)
    peak = statistics.median(r[1] for r in runs)
    cpu = statistics.median(r[2] for r in runs)
    database = runs[-1][3]
    db_size = database.stat().st_size
    patches = stored_patch_bytes(database)
    for run in runs:
        run[3].unlink()
    return (
        f"| {count} | {size / 2**20:.1f} MiB | {seconds:.2f} s | {cpu:.2f} s "
        f"| {size / 2**20 / seconds:.1f} MiB/s "
        f"| {peak:.0f} MiB | {db_size / 2**20:.1f} MiB | {patches / 2**20:.1f} MiB "
        f"| {db_size / max(patches, 1):.2f} | {', '.join(f'{r[0]:.1f}' for r in runs)} s "
        f"/ {', '.join(f'{r[1]:.0f}' for r in runs)} MiB |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, nargs="+", default=[250, 500, 1000])
    parser.add_argument("--files", type=int, default=3, help="modules added per commit")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tree", type=Path, default=ROOT, help="source tree to run")
    args = parser.parse_args()
    print(f"$ {' '.join(sys.argv)}")
    print(f"tree: {args.tree}; load {os.getloadavg()[0]:.2f} (1-min average)")
    print(
        "| commits | diff (git log -p) | wall (median) | CPU (median) | diff/s "
        "| peak RSS (median) | database | patch text stored | database / patch text "
        "| runs (wall / RSS) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for count in args.commits:
            repo = work / f"day{count}"
            build_day(repo, count, args.files)
            print(measure(repo, work, args, count), flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
