"""Benchmark: the CPU a command costs before it does anything (interpreter start plus imports).

Runs each command `--repeat` times in a fresh interpreter and prints the median CPU seconds
(user + system, from the child's rusage) per source tree, the ratio to the first tree, whether
`openai` was imported, and the largest imports by `python -X importtime`. Another tree (e.g. an
older commit: `git archive REV | tar -x -C /tmp/base`) is put first on PYTHONPATH so that the
same venv runs its code side by side with this checkout's.

    .venv/bin/python bench/startup.py --repeat 9 --tree /tmp/base --tree .
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

COMMANDS = {
    "digestbot --help": ["-m", "digestbot", "--help"],
    "digestbot --version": ["-m", "digestbot", "--version"],
    "import digestbot.cli": ["-c", "import digestbot.cli"],
    "import digestbot.service": ["-c", "import digestbot.service"],
}
_OPENAI_PROBE = """
import sys
from digestbot.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
print("openai" in sys.modules, file=sys.stderr)
"""


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree)}


def cpu_seconds(args: list[str], tree: Path) -> tuple[float, int]:
    """CPU (user + system) of one run in a fresh interpreter, and its exit status."""
    process = subprocess.Popen(
        [sys.executable, *args],
        cwd=tree,
        env=_env(tree),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, process.returncode


def median_cpu(args: list[str], tree: Path, repeat: int) -> tuple[float, int]:
    """The median over `repeat` runs, after one warm-up run (which writes the bytecode cache)."""
    cpu_seconds(args, tree)
    runs = [cpu_seconds(args, tree) for _ in range(repeat)]
    return statistics.median(cpu for cpu, _ in runs), runs[-1][1]


def imports_openai(tree: Path) -> bool:
    """Whether `digestbot --help` loads the openai SDK."""
    done = subprocess.run(
        [sys.executable, "-c", _OPENAI_PROBE],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stderr.strip().endswith("True")


def top_imports(tree: Path, count: int) -> list[tuple[int, str]]:
    """The largest cumulative import times (µs) of `import digestbot.cli`, top level first."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import digestbot.cli"],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
        check=True,
    )
    rows = re.findall(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", done.stderr)
    shallow = [(int(us), name) for us, indent, name in rows if len(indent) <= 5]
    return sorted(shallow, reverse=True)[:count]


def main() -> None:
    """Print the figures and the command that made them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--tree", type=Path, action="append", help="source tree (default: .)")
    parser.add_argument("--top", type=int, default=8, help="largest imports to list")
    args = parser.parse_args()
    trees = [t.resolve() for t in (args.tree or [Path(".")])]
    print("$", " ".join([Path(sys.executable).name, *sys.argv]))
    print("load:", os.getloadavg(), f"cpus: {os.cpu_count()}")
    first: dict[str, float] = {}
    for tree in trees:
        print(f"\n{tree}  (openai imported by --help: {imports_openai(tree)})")
        for label, command in COMMANDS.items():
            cpu, status = median_cpu(command, tree, args.repeat)
            ratio = f"  x{cpu / first[label]:.2f} of the first tree" if label in first else ""
            first.setdefault(label, cpu)
            failed = f"  (exit {status})" if status else ""
            print(f"  {label:26} {cpu:6.3f} s CPU (median of {args.repeat}){ratio}{failed}")
        for micros, name in top_imports(tree, args.top):
            print(f"    import {name:32} {micros / 1e6:6.3f} s cumulative")


if __name__ == "__main__":
    main()
