"""Bad input and injected faults, each run as a real `digestbot` process: what does the user see?

Prints one table row per case: the input or fault → the line the user reads → the exit code →
whether a traceback was printed (it must never be) → whether that matches what is expected.
Faults are real where the machine allows (a closed port, /dev/full, a corrupt file, a low
`ulimit -n`, a loopback GitHub that resets connections) and injected through a
`sitecustomize` module otherwise (a disk that fills up mid-run, a bug, running out of memory).

    .venv/bin/python bench/bad_inputs.py            # every case, as a Markdown table
    .venv/bin/python bench/bad_inputs.py -k github  # only the cases whose name has "github"

To add a case, append a `Case` to CASES (in this file, or in a module that extends the list).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.emulators.github_api import GitHubEmulator  # noqa: E402
from tests.emulators.loopback import Fault  # noqa: E402
from tests.factories import change, commit  # noqa: E402
from tests.gitrepo import GitRepo  # noqa: E402

DAY = "2026-02-19"
NOTE = "no model configured"  # the analyzer note: not the line a case is about


@dataclass
class Scene:
    """What a case may use: scratch folder, repositories, a GitHub emulator, the environment."""

    tmp: Path
    github: GitHubEmulator
    env: dict[str, str] = field(default_factory=dict)
    stdin: str = ""
    inject: str = ""  # Python run at start-up in the digestbot process (a sitecustomize)
    nofile: int | None = None  # ulimit -n for the process

    def values(self) -> dict[str, str]:
        return {"tmp": str(self.tmp), "repo": str(self.tmp / "repo"), "db": self.database}

    @property
    def database(self) -> str:
        return f"sqlite:///{self.tmp / 'digestbot.sqlite3'}"


@dataclass(frozen=True)
class Case:
    """One bad input or fault: its name, the command after `digestbot`, what it should exit."""

    name: str
    argv: tuple[str, ...]
    exit: int
    setup: Callable[[Scene], None] | None = None
    chat: bool = False  # the answer is in the console's output, not on stderr


@dataclass(frozen=True)
class Outcome:
    """What happened."""

    line: str
    exit: int
    traceback: bool


# ---- scenes -------------------------------------------------------------------------------


def _day_repo(scene: Scene) -> GitRepo:
    repo = GitRepo(scene.tmp / "repo")
    repo.commit("feat: a", datetime(2026, 2, 19, 9, tzinfo=UTC), {"src/a.py": "a = 1\n"})
    return repo


def day_repo(scene: Scene) -> None:
    _day_repo(scene)


def empty_commit_day(scene: Scene) -> None:
    repo = _day_repo(scene)
    sha = repo.commit("chore: trigger CI", datetime(2026, 2, 19, 10, tzinfo=UTC))
    scene.stdin = f"/digest explain {sha[:9]}\n"


def empty_repo(scene: Scene) -> None:
    GitRepo(scene.tmp / "repo")


def chat_lines(*lines: str) -> Callable[[Scene], None]:
    def setup(scene: Scene) -> None:
        _day_repo(scene)
        scene.stdin = "".join(f"{line}\n" for line in lines)

    return setup


def sqlite_file(kind: str) -> Callable[[Scene], None]:
    def setup(scene: Scene) -> None:
        _day_repo(scene)
        path = scene.tmp / "digestbot.sqlite3"
        if kind == "corrupt":
            path.write_bytes(b"this is not a database " * 300)
        elif kind == "full":
            path.symlink_to("/dev/full")
        else:
            subprocess.run(
                [sys.executable, "-m", "digestbot", "migrate", "--database", scene.database],
                check=True,
                cwd=ROOT,
                capture_output=True,
            )
            if kind == "newer":
                with sqlite3.connect(path) as conn:
                    conn.execute("UPDATE alembic_version SET version_num = '0099_future'")

    return setup


def github_repo(scene: Scene) -> None:
    when = datetime(2026, 2, 19, 9, tzinfo=UTC)
    scene.github.add_repo("acme/app", [commit("feat: a", change("src/a.py"), when=when)])
    scene.env["GITHUB_API_URL"] = scene.github.url


def github_fault(*faults: Fault, token: str | None = None) -> Callable[[Scene], None]:
    def setup(scene: Scene) -> None:
        github_repo(scene)
        scene.github.fail(*faults)
        if token:
            scene.env["GITHUB_TOKEN"] = token

    return setup


def github_at(url: str) -> Callable[[Scene], None]:
    def setup(scene: Scene) -> None:
        scene.env["GITHUB_API_URL"] = url

    return setup


def github_tokens(scene: Scene) -> None:
    github_repo(scene)
    scene.github.tokens = {"right"}
    scene.env["GITHUB_TOKEN"] = "wrong"


def rate_limited(token: str | None) -> Callable[[Scene], None]:
    reset = str(int(time.time()) + 3600)
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    return github_fault(Fault(403, {"message": "API rate limit exceeded"}, headers), token=token)


def big_day_low_nofile(scene: Scene) -> None:
    repo = GitRepo(scene.tmp / "repo")
    repo.fast_import(500, datetime(2026, 2, 19, 1, tzinfo=UTC), files_each=2)
    scene.nofile = 64


def injected(code: str) -> Callable[[Scene], None]:
    def setup(scene: Scene) -> None:
        repo = _day_repo(scene)
        # A commit too big for the database's free pages: storing it must grow the file.
        big = "".join(f"value_{i} = {i}\n" for i in range(5000))
        repo.commit("feat: b", datetime(2026, 2, 19, 10, tzinfo=UTC), {"src/b.py": big})
        scene.inject = code

    return setup


def no_git(scene: Scene) -> None:
    _day_repo(scene)
    scene.env["PATH"] = str(Path(sys.executable).parent)  # python and digestbot, but no git


def config_file(text: str) -> Callable[[Scene], None]:
    def setup(scene: Scene) -> None:
        _day_repo(scene)
        (scene.tmp / "digestbot.toml").write_text(text, encoding="utf-8")

    return setup


DISK_FILLS_UP = """
from sqlalchemy import Engine, event
def _no_growth(conn, _):
    cur = conn.cursor(); cur.execute("PRAGMA page_count"); pages = cur.fetchone()[0]
    cur.execute(f"PRAGMA max_page_count = {max(pages, 1)}"); cur.close()
def _arm(*_):  # after the migration: the first write of the run finds the disk full
    event.listen(Engine, "connect", _no_growth)
import bot.storage.database as db
_migrate = db.migrate_async
async def migrate_then_fill(url):
    await _migrate(url); _arm()
db.migrate_async = migrate_then_fill
import digestbot.wiring as wiring
wiring.migrate_async = migrate_then_fill
"""
A_BUG = """
import digestbot.digest_command as cli
def _broken(*_):
    raise KeyError("a bug in rendering")
cli.render_report = _broken
"""
OUT_OF_MEMORY = """
import digestbot.digest_command as cli
def _huge(*_):
    raise MemoryError()
cli.render_report = _huge
"""
EMFILE_AT_GIT = """
import errno, subprocess
def _no_files(*_, **__):
    raise OSError(errno.EMFILE, "Too many open files")
subprocess.Popen = _no_files
subprocess.run = _no_files
"""

_DIGEST = ("digest", "--repo", "{repo}", "--date", DAY, "--tz", "UTC", "--database", "{db}")
_GITHUB = ("digest", "--repo", "acme/app", "--date", DAY, "--tz", "UTC", "--database", "{db}")
_CHAT = ("chat", "--repo", "{repo}", "--tz", "UTC", "--database", "{db}")

CASES: list[Case] = [
    Case("a day with an empty commit", _DIGEST, 0, empty_commit_day),
    Case("chat: explain an empty commit", _CHAT, 0, empty_commit_day, chat=True),
    Case("--date 9999-12-31", (*_DIGEST[:4], "9999-12-31", *_DIGEST[5:]), 2, day_repo),
    Case(
        "chat: /digest 9999-12-31 (the chat goes on)",
        _CHAT,
        0,
        chat_lines("/digest 9999-12-31", "/digest help"),
        chat=True,
    ),
    Case("chat: explain 0000000", _CHAT, 0, chat_lines("/digest explain 0000000"), chat=True),
    Case("--date someday", (*_DIGEST[:4], "someday", *_DIGEST[5:]), 2, day_repo),
    Case("--tz Mars/Olympus", (*_DIGEST[:6], "Mars/Olympus", *_DIGEST[7:]), 2, day_repo),
    Case("an empty repository, --date last", (*_DIGEST[:4], "last", *_DIGEST[5:]), 1, empty_repo),
    Case("an empty repository, --date 2026-02-19", _DIGEST, 0, empty_repo),
    Case("--repo that is not a repository", (*_DIGEST[:2], "{tmp}", *_DIGEST[3:]), 1),
    Case("--repo that does not exist", (*_DIGEST[:2], "{tmp}/nope", *_DIGEST[3:]), 1),
    Case(
        "--branch=--output=FILE (git must not write FILE)",
        (*_DIGEST, "--branch=--output={tmp}/written"),
        2,
        day_repo,
    ),
    Case("--branch that does not exist", (*_DIGEST, "--branch", "nope"), 1, day_repo),
    Case("--analyzer llm without OPENAI_API_KEY", (*_DIGEST, "--analyzer", "llm"), 2, day_repo),
    Case("--config that does not exist", (*_DIGEST, "--config", "{tmp}/none.toml"), 2, day_repo),
    Case(
        "--config with a wrong value",
        (*_DIGEST, "--config", "{tmp}/digestbot.toml"),
        2,
        config_file("[rules]\nhigh = 'ten'\n"),
    ),
    Case(
        "--out in a folder that does not exist", (*_DIGEST, "--out", "{tmp}/no/r.md"), 1, day_repo
    ),
    Case("--out that is a folder", (*_DIGEST, "--out", "{tmp}"), 1, day_repo),
    Case("--out on a full disk (/dev/full)", (*_DIGEST, "--out", "/dev/full"), 1, day_repo),
    Case(
        "PostgreSQL not running (nothing on the port)",
        (*_DIGEST[:8], "postgresql://bot:pw@127.0.0.1:1/digests"),
        1,
        day_repo,
    ),
    Case(
        "PostgreSQL host that does not resolve",
        (*_DIGEST[:8], "postgresql://bot:pw@db.nonexistent.invalid/digests"),
        1,
        day_repo,
    ),
    Case(
        "PostgreSQL refuses the password",
        (*_DIGEST[:8], "postgresql://bot:wrong@127.0.0.1:5432/digests"),
        1,
        day_repo,
    ),
    Case(
        "SQLite opened read-only",
        (*_DIGEST[:8], "sqlite:///file:{tmp}/digestbot.sqlite3?mode=ro&uri=true"),
        1,
        sqlite_file("migrated"),
    ),
    Case("SQLite file that is corrupt", _DIGEST, 1, sqlite_file("corrupt")),
    Case("SQLite file from a newer digestbot", _DIGEST, 1, sqlite_file("newer")),
    Case("disk full when the database is created", _DIGEST, 1, sqlite_file("full")),
    Case("disk full in the middle of a run (injected)", _DIGEST, 1, injected(DISK_FILLS_UP)),
    Case("git is not installed", _DIGEST, 1, no_git),
    Case("too many open files at git (injected EMFILE)", _DIGEST, 1, injected(EMFILE_AT_GIT)),
    Case("500-commit day under ulimit -n 64", _DIGEST, 0, big_day_low_nofile),
    Case("out of memory (injected MemoryError)", _DIGEST, 1, injected(OUT_OF_MEMORY)),
    Case("a bug (injected KeyError)", _DIGEST, 1, injected(A_BUG)),
    Case("github: unknown repository", (*_GITHUB[:2], "acme/nope", *_GITHUB[3:]), 1, github_repo),
    Case("github: wrong GITHUB_TOKEN", _GITHUB, 1, github_tokens),
    Case("github: rate limit, no token", _GITHUB, 1, rate_limited(None)),
    Case("github: rate limit with GITHUB_TOKEN set", _GITHUB, 1, rate_limited("set")),
    Case(
        "github: 500 on every attempt",
        _GITHUB,
        1,
        github_fault(*[Fault(500, {"message": "boom"}) for _ in range(4)]),
    ),
    Case(
        "github: connection reset on every attempt",
        _GITHUB,
        1,
        github_fault(*[Fault(0) for _ in range(4)]),
    ),
    Case("github: connection reset once (retried)", _GITHUB, 0, github_fault(Fault(0))),
    Case("github: connection refused", _GITHUB, 1, github_at("http://127.0.0.1:1")),
    Case(
        "github: host name does not resolve",
        _GITHUB,
        1,
        github_at("http://api.nonexistent.invalid"),
    ),
]


def run_case(case: Case, work: Path, github: GitHubEmulator) -> Outcome:
    """Run one case in a fresh scratch folder and a fresh `digestbot` process."""
    github.repos.clear()
    github.faults.clear()
    github.tokens = None
    tmp = Path(tempfile.mkdtemp(dir=work))
    scene = Scene(tmp, github)
    if case.setup:
        case.setup(scene)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GITHUB_"))}
    env.update({"DATABASE_URL": scene.database, "XDG_STATE_HOME": str(tmp / "state")})
    env.update(scene.env)
    if scene.inject:
        (tmp / "inject").mkdir()
        (tmp / "inject" / "sitecustomize.py").write_text(scene.inject, encoding="utf-8")
        env["PYTHONPATH"] = str(tmp / "inject")
    argv = [_digestbot(), *(a.format(**scene.values()) for a in case.argv)]
    done = subprocess.run(
        argv,
        input=scene.stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        preexec_fn=_limit(scene.nofile),
        timeout=600,
        check=False,
    )
    if "--branch=--output" in " ".join(case.argv) and (tmp / "written").exists():
        return Outcome("git wrote the file!", done.returncode, False)
    shown = _shown(case, done.stdout, done.stderr).replace(str(tmp), "<tmp>")
    shown = shown.replace(github.url.removeprefix("http://"), "<emulator>")
    return Outcome(shown, done.returncode, _traceback(done))


def _digestbot() -> str:
    found = Path(sys.executable).parent / "digestbot"
    return str(found) if found.exists() else (shutil.which("digestbot") or "digestbot")


def _limit(nofile: int | None) -> Callable[[], None] | None:
    if nofile is None:
        return None
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))


def _traceback(done: subprocess.CompletedProcess[str]) -> bool:
    return "Traceback (most recent call last)" in done.stdout + done.stderr


def _shown(case: Case, out: str, err: str) -> str:
    """The line the user reads about this case."""
    if case.chat:
        lines = [line for line in out.splitlines() if line.startswith("[")]
        return " / ".join(line.split("] ", 1)[-1] for line in lines)[:300]
    lines = [line for line in err.splitlines() if line.strip() and NOTE not in line]
    starts = [i for i, line in enumerate(lines) if line.startswith("digestbot: ")]
    # An error may continue on indented lines (a config file's several mistakes): keep them.
    return " ".join(lines[starts[-1] :]) if starts else "(nothing)"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only cases whose name contains this")
    args = parser.parse_args()
    chosen = [c for c in CASES if args.k.lower() in c.name.lower()]
    print(f"$ {' '.join(sys.argv)}    # load {os.getloadavg()[0]:.2f}, {len(chosen)} cases\n")
    print("| input or fault | what the user sees | exit | traceback? | as expected |")
    print("| --- | --- | --- | --- | --- |")
    bad = tracebacks = 0
    with tempfile.TemporaryDirectory() as work, GitHubEmulator() as github:
        for case in chosen:
            got = run_case(case, Path(work), github)
            fine = got.exit == case.exit and not got.traceback
            bad += not fine
            tracebacks += got.traceback
            verdict = "yes" if fine else f"NO (want {case.exit})"
            shown = "YES" if got.traceback else "no"
            row = f"| {_cell(case.name)} | {_cell(got.line)} | {got.exit} | {shown} | {verdict} |"
            print(row, flush=True)
    print(f"\n{len(chosen) - bad} of {len(chosen)} as expected; tracebacks: {tracebacks}")
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
