"""The first minutes with the command line: what to run, help with defaults, a fast start,
progress on a terminal, and an idle day that says where the commits are."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.days import DayWindow
from bot.sources.github import GitHubSource
from bot.storage.sql_store import SqlStore
from digestbot.cli import build_parser, main
from digestbot.terminal import ProgressLine
from tests.emulators.github_api import GitHubEmulator
from tests.emulators.loopback import Fault
from tests.factories import change, commit
from tests.gitrepo import GitRepo

ROOT = Path(__file__).resolve().parent.parent
# What a command imports only when it runs: each costs a noticeable part of a second.
HEAVY = ("sqlalchemy", "pydantic", "github", "openai", "slack_bolt", "telegram", "bot.config")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_every_option_in_help_names_its_default(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = _subcommands()[command]
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    assert options
    for action in options:
        assert action.help and ("(default:" in action.help or "(required)" in action.help), (
            f"{command} {action.option_strings[0]}: {action.help}"
        )
    with pytest.raises(SystemExit):
        main([command, "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert shown.count("(default:") + shown.count("(required)") >= len(options)


def test_digest_help_shows_the_values_used_when_nothing_is_given(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["digest", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for default in ("(default: yesterday)", "(default: en)", "(default: auto)", "(default: -)"):
        assert default in shown
    assert "NAME=PATH" in shown


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["digest", "--help"]])
def test_help_and_version_load_none_of_the_core(argv: list[str]) -> None:
    probe = (
        "import sys\nfrom digestbot.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stderr.strip().splitlines()[-1] == "[]"
    assert "digestbot" in done.stdout


def test_the_progress_line_draws_fetch_wait_and_analysis_in_place() -> None:
    out = io.StringIO()
    line = ProgressLine("acme/app", out)
    line.fetched(1, 4)
    line.waiting(42, "GitHub rate limit")
    line.fetched(4, 4)
    line(4, 4)
    drawn = out.getvalue()
    assert "acme/app fetching [######" in drawn and "1/4" in drawn
    assert "acme/app GitHub rate limit: waiting 42 s (until " in drawn and "UTC)" in drawn
    assert "acme/app analyzing [########################] 4/4\n" in drawn
    assert drawn.count("\n") == 1  # one line, redrawn in place, ended once
    line.close()
    assert out.getvalue() == drawn


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, float, float]] = []

    def fetched(self, done: int, total: int) -> None:
        self.events.append(("fetched", done, total))

    def waiting(self, seconds: float, reason: str) -> None:
        self.events.append(("waiting", seconds, 0))


async def test_github_tells_the_fetch_and_a_rate_limit_wait(
    github: GitHubEmulator, store: SqlStore
) -> None:
    when = datetime(2026, 2, 19, 12, 0, tzinfo=UTC)
    github.add_repo(
        "acme/app",
        [commit(f"feat: {i}", change("a.py"), sha=f"{i}" * 40, when=when) for i in range(3)],
    )
    github.fail(Fault(429, {"message": "slow down"}, {"Retry-After": "7"}))
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    source = GitHubSource("acme/app", store, base_url=github.url, sleep=record)
    recorder = _Recorder()
    got = await source.commits(DayWindow(date(2026, 2, 19), "UTC"), recorder)

    assert len(got) == 3 and waits == [pytest.approx(7.0, abs=0.5)]  # the gate's clock ran on
    assert recorder.events[0] == ("waiting", 7.0, 0)
    assert [e for e in recorder.events if e[0] == "fetched"] == [
        ("fetched", 1, 3),
        ("fetched", 2, 3),
        ("fetched", 3, 3),
    ]


@pytest.fixture
def one_github_commit(
    github: GitHubEmulator, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """`digest` arguments for acme/app on the GitHub emulator, one commit that day."""
    when = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    github.add_repo("acme/app", [commit("feat: x", change("a.py"), sha="a" * 40, when=when)])
    for var in ("OPENAI_API_KEY", "GITHUB_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    day = ["--date", "2026-03-04", "--tz", "UTC"]
    return ["digest", "--repo", "acme/app", *day, "--database", database_url]


def test_a_terminal_sees_the_github_fetch_wait_and_analysis(
    github: GitHubEmulator,
    one_github_commit: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    github.fail(Fault(429, {"message": "slow down"}, {"Retry-After": "0"}))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)

    assert main(one_github_commit) == 0

    err = capsys.readouterr().err
    assert "acme/app GitHub rate limit: waiting 0 s" in err
    assert "acme/app fetching [########################] 1/1" in err
    assert "acme/app analyzing [########################] 1/1\n" in err


def test_a_pipe_gets_no_progress(
    one_github_commit: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(one_github_commit) == 0

    err = capsys.readouterr().err
    assert "fetching" not in err and "analyzing" not in err and "\r" not in err


def test_an_idle_day_says_when_the_last_commit_was_and_how_to_see_it(
    repo: GitRepo, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    repo.commit("feat: a", datetime(2026, 3, 4, 9, tzinfo=tokyo), {"src/a.py": "1\n"})
    args = ["--repo", str(repo.path), "--tz", "Asia/Tokyo", "--database", database_url]

    assert main(["digest", *args, "--date", "2026-03-06"]) == 0

    out, err = capsys.readouterr()
    assert "No commits on this day." in out
    assert (
        f"digestbot: {repo.path.name}: no commits on 2026-03-06 (Asia/Tokyo); the last commit "
        "was on 2026-03-04: digestbot digest --date 2026-03-04 (or --date last)"
    ) in err


def test_the_readme_first_screen_says_what_to_run_after_make_demo() -> None:
    first_screen = "\n".join((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:20])
    for said in ("make demo", "make chat", ".venv/bin/digestbot", "source .venv/bin/activate"):
        assert said in first_screen
    shown = subprocess.run(
        ["make", "-s", "-n", "-o", ".venv/.installed", "chat"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown.startswith(".venv/bin/digestbot chat --repo . --analyzer rules")


def test_make_chat_is_an_offline_chat_on_this_repository(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GITHUB_"))}
    done = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "chat", f"DEMO_DB=sqlite:///{tmp_path}/d.db"],
        cwd=ROOT,
        input="/digest last\n",
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "… Working on " in done.stdout and "[1] " in done.stdout and "Commits on " in done.stdout
    assert "Traceback" not in done.stderr


def test_a_named_local_repository_is_shown_by_its_name_in_the_report(
    repo: GitRepo, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit("feat: a", datetime(2026, 3, 4, 9, tzinfo=UTC), {"src/a.py": "1\n"})
    args = ["--repo", f"tools={repo.path}", "--date", "2026-03-04", "--tz", "UTC"]

    assert main(["digest", *args, "--database", database_url]) == 0

    out, err = capsys.readouterr()
    assert "\n## tools\n" in out and "1 repositories, 1 commits" in err
    assert main(["digest", "--repo", "today=/srv/x", "--database", database_url]) == 2
    assert "a repository cannot be named 'today'" in capsys.readouterr().err
