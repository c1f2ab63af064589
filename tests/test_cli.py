"""`digestbot digest`: defaults, `last`, output, and clear errors with non-zero exits."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digestbot.cli import main
from tests.emulators.github_api import GitHubEmulator
from tests.emulators.loopback import Fault
from tests.gitrepo import GitRepo

TZ = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GITHUB_TOKEN", "GITHUB_API_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["digest", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_last_day_report_in_chinese_with_the_rules_note(
    env: str, repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit("feat: first day", datetime(2026, 3, 1, 10, tzinfo=TZ), {"src/a.py": "1\n"})
    repo.commit("fix: the latest day", datetime(2026, 3, 4, 23, 30, tzinfo=TZ), {"src/a.py": "2\n"})
    code, out, err = run(
        capsys, "--repo", str(repo.path), "--date", "last", "--tz", "Asia/Tokyo", "--lang", "zh"
    )
    assert code == 0
    assert out.startswith("# 每日更新报告（2026-03-04）")
    assert "fix: the latest day" in out and "feat: first day" not in out
    assert "no model configured" in err
    assert "1 commits (high 0, medium 1, low 0)" in err and "model calls 0" in err


def test_report_goes_to_a_file(
    env: str, repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit("docs: a", datetime(2026, 3, 4, 9, tzinfo=TZ), {"docs/a.md": "a\n"})
    target = tmp_path / "report.md"
    code, out, _ = run(
        capsys,
        "--repo",
        str(repo.path),
        "--date",
        "2026-03-04",
        "--tz",
        "Asia/Tokyo",
        "--out",
        str(target),
    )
    assert code == 0 and out == ""
    assert "Commits on 2026-03-04: 1" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message", "status"),
    [
        (["--date", "2026-13-40"], "cannot read the date '2026-13-40'", 2),
        (["--date", "someday"], "use today, yesterday, last or YYYY-MM-DD", 2),
        (["--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'", 2),
    ],
)
def test_bad_input_is_a_clear_usage_error(
    env: str,
    repo: GitRepo,
    args: list[str],
    message: str,
    status: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "--repo", str(repo.path), *args)
    assert code == status and message in err and "Traceback" not in err


def test_a_path_that_is_not_a_repository(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--repo", str(tmp_path), "--date", "today")
    assert code == 1 and "is not a git repository" in err


def test_github_errors_reach_the_user(
    env: str,
    github: GitHubEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    github.add_repo("acme/app", [])
    code, _, err = run(capsys, "--repo", "acme/missing", "--date", "2026-03-04")
    assert code == 1 and "acme/missing not found" in err

    github.tokens = {"right"}
    monkeypatch.setenv("GITHUB_TOKEN", "wrong")
    code, _, err = run(capsys, "--repo", "acme/app", "--date", "2026-03-04")
    assert code == 1 and "GITHUB_TOKEN" in err

    monkeypatch.setenv("GITHUB_TOKEN", "right")
    reset = int(datetime.now(ZoneInfo("UTC")).timestamp()) + 3600
    github.fail(
        Fault(
            403,
            {"message": "API rate limit exceeded"},
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        )
    )
    code, _, err = run(capsys, "--repo", "acme/app", "--date", "2026-03-04")
    assert code == 1 and "rate limit exceeded; it resets at" in err


def test_an_llm_request_without_a_key_says_what_is_missing(
    env: str, repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--repo", str(repo.path), "--analyzer", "llm")
    assert code == 2 and "OPENAI_API_KEY" in err  # a usage error, as the README says


def test_broken_config_file_names_the_key(
    env: str, repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "digestbot.toml"
    config.write_text("[rules]\nhigh = 'ten'\n", encoding="utf-8")
    code, _, err = run(capsys, "--repo", str(repo.path), "--config", str(config))
    assert code == 2 and "rules.high" in err


def test_with_a_model_the_closing_line_counts_tokens_and_cost(
    env: str,
    repo: GitRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.emulators.openai_api import OpenAIEmulator

    repo.commit("feat: model day", datetime(2026, 3, 4, 9, tzinfo=TZ), {"src/a.py": "1\n"})
    config = tmp_path / "digestbot.toml"
    config.write_text(
        "[model]\nprompt_price_per_million = 1.0\ncompletion_price_per_million = 2.0\n",
        encoding="utf-8",
    )
    with OpenAIEmulator() as emu:
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", f"{emu.url}/v1")
        code, out, err = run(
            capsys,
            "--repo",
            str(repo.path),
            "--date",
            "2026-03-04",
            "--tz",
            "Asia/Tokyo",
            "--config",
            str(config),
        )
        calls = len(emu.requests)
    assert code == 0 and "no model configured" not in err
    assert "Model summary of" in out and "Overview: 1 commits analyzed" in out
    assert f"model calls {calls}" in err and "cost $0.0" in err
    assert "analyzer llm" in err


def one_line(err: str) -> str:
    """The error line: the last `digestbot:` line, after checking there is no traceback."""
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("digestbot: ")][-1]


def test_a_day_with_an_empty_commit_is_digested(
    env: str, repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit("feat: a", datetime(2026, 3, 4, 9, tzinfo=TZ), {"src/a.py": "1\n"})
    repo.commit("chore: trigger CI", datetime(2026, 3, 4, 10, tzinfo=TZ))
    code, out, err = run(capsys, "--repo", str(repo.path), "--date", "2026-03-04", "--tz", str(TZ))
    assert code == 0 and "chore: trigger CI" in out
    assert "2 commits" in one_line(err)


@pytest.mark.parametrize(
    ("args", "status", "line"),
    [
        (["--date", "9999-12-31"], 2, "the date 9999-12-31 is out of range"),
        (["--date", "last"], 1, "has no commits yet"),
        (["--branch=--output=OUT"], 2, "'--output=OUT' is not a branch name"),
        (["--out", "NOWHERE/no/report.md"], 1, "NOWHERE/no does not exist"),
        (["--out", "."], 1, "it is a directory"),
    ],
)
def test_bad_input_is_one_line(
    env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    status: int,
    line: str,
) -> None:
    def fill(text: str) -> str:
        return text.replace("OUT", str(tmp_path / "written")).replace("NOWHERE", str(tmp_path))

    empty = GitRepo(tmp_path / "empty")  # a repository without a single commit
    code, out, err = run(capsys, "--repo", str(empty.path), *map(fill, args))
    assert code == status and fill(line) in one_line(err)
    assert out == "" and not (tmp_path / "written").exists()


def test_an_empty_repository_has_an_empty_day(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = GitRepo(tmp_path / "empty")
    code, out, err = run(capsys, "--repo", str(empty.path), "--date", "today")
    assert code == 0 and "No commits on this day." in out and "0 commits" in one_line(err)


def test_a_full_disk_at_the_report_is_one_line(
    env: str, repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit("feat: a", datetime(2026, 3, 4, 9, tzinfo=TZ), {"src/a.py": "1\n"})
    args = ["--repo", str(repo.path), "--date", "2026-03-04", "--tz", str(TZ), "--out", "/dev/full"]
    code, _, err = run(capsys, *args)
    assert code == 1 and "No space left on device" in one_line(err)
    assert "the digest is stored" in one_line(err)


def test_unexpected_errors_are_one_line_and_logged(
    env: str,
    repo: GitRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("DIGESTBOT_DEBUG", raising=False)

    def broken(*_: object) -> str:
        raise KeyError("token=SECRET")

    monkeypatch.setattr("digestbot.digest_command.render_report", broken)
    repo.commit("feat: a", datetime(2026, 3, 4, 9, tzinfo=TZ), {"src/a.py": "1\n"})
    args = ["--repo", str(repo.path), "--date", "2026-03-04", "--tz", str(TZ)]

    code, _, err = run(capsys, *args)

    log = tmp_path / "state" / "digestbot" / "errors.log"
    assert code == 1 and f"unexpected error (KeyError); the details are in {log}" in one_line(err)
    assert "SECRET" not in err and "Traceback" in log.read_text(encoding="utf-8")
    with pytest.raises(KeyError):
        main(["digest", *args, "--debug"])


def test_chat_survives_bad_commands_and_explains_an_empty_commit(
    env: str, repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    repo.commit("feat: a", datetime(2026, 3, 4, 9, tzinfo=TZ), {"src/a.py": "1\n"})
    empty = repo.commit("chore: trigger CI", datetime(2026, 3, 4, 10, tzinfo=TZ))
    lines = [f"/digest explain {empty[:9]}", "/digest explain 0000000", "/digest 9999-12-31"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join([*lines, "/digest help", ""])))

    code = main(["chat", "--repo", str(repo.path), "--tz", "Asia/Tokyo"])

    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in err + out
    assert "chore: trigger CI" in out
    assert "I found no commit for #0" in out
    assert "the date 9999-12-31 is out of range" in out
    assert out.rstrip().endswith("ask about a change.")  # the help after them: still running
