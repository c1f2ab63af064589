"""The local git source: the day window, merges, renames, binaries, big diffs, odd bytes."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.days import DayWindow
from bot.errors import SourceError
from bot.models import FileStatus
from bot.sources.local_git import LocalGitSource, parse_remote
from tests.gitrepo import GitRepo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int, tz: ZoneInfo = SHANGHAI) -> datetime:
    return datetime(2026, 2, day, hour, minute, tzinfo=tz)


async def test_window_is_the_local_day_of_a_non_utc_zone(repo: GitRepo) -> None:
    repo.commit("chore: before midnight of the 18th", at(18, 23, 59), {"a.txt": "1"})
    inside_early = repo.commit("feat: just after midnight", at(19, 0, 1), {"a.txt": "2"})
    inside_late = repo.commit("fix: just before midnight", at(19, 23, 59), {"a.txt": "3"})
    repo.commit("docs: next day", at(20, 0, 1), {"a.txt": "4"})

    commits = await LocalGitSource(repo.path).commits(DayWindow(date(2026, 2, 19), "Asia/Shanghai"))

    assert [c.sha for c in commits] == [inside_early, inside_late]
    # In UTC the first of them belongs to the 18th: the zone decides, not UTC.
    assert commits[0].committed_at.astimezone(ZoneInfo("UTC")).day == 18


async def test_commit_fields_rename_binary_lockfile_and_big_diff(repo: GitRepo) -> None:
    repo.commit(
        "chore: seed",
        at(18, 10, 0),
        {"src/old_name.py": "x = 1\n" * 5, "logo.png": b"\x89PNG\x00\x01"},
    )
    big = "".join(f"line {i}\n" for i in range(5000))
    sha = repo.commit(
        "feat(core): everything at once (#6356)\n\nBody text.\n\nSigned-off-by: A <a@b.c>",
        at(19, 9, 0),
        {"big.txt": big, "Cargo.lock": "[[package]]\nname = 'x'\n", "logo.png": b"\x89PNG\x00\x02"},
        move=(("src/old_name.py", "src/new_name.py"),),
    )
    [commit] = await LocalGitSource(repo.path).commits(
        DayWindow(date(2026, 2, 19), "Asia/Shanghai")
    )
    files = {f.path: f for f in commit.files}

    assert commit.sha == sha and commit.pr_number == 6356 and commit.parents == 1
    assert commit.author == "Test Author"
    assert "Signed-off-by" in commit.message
    assert files["src/new_name.py"].status is FileStatus.RENAMED
    assert files["src/new_name.py"].old_path == "src/old_name.py"
    assert files["logo.png"].binary and files["logo.png"].patch is None
    assert files["big.txt"].additions == 5000 and files["big.txt"].status is FileStatus.ADDED
    assert files["big.txt"].patch is not None and files["big.txt"].patch.startswith("@@")
    assert files["Cargo.lock"].additions == 2


async def test_merge_commit_is_diffed_against_first_parent(repo: GitRepo) -> None:
    repo.commit("chore: seed", at(19, 8, 0), {"a.py": "a = 1\n"})
    repo.git("checkout", "-q", "-b", "topic")
    repo.commit("feat: topic work", at(19, 9, 0), {"b.py": "b = 1\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("fix: mainline", at(19, 9, 30), {"a.py": "a = 2\n"})
    repo.merge("topic", "Merge pull request #42 from someone/topic", at(19, 10, 0))

    commits = await LocalGitSource(repo.path).commits(DayWindow(date(2026, 2, 19), "Asia/Shanghai"))
    merge = commits[-1]
    assert merge.is_merge and merge.pr_number == 42
    assert [f.path for f in merge.files] == ["b.py"]


async def test_non_utf8_message_and_patch_are_read_not_fatal(repo: GitRepo) -> None:
    repo.commit(b"fix: caf\xe9 cr\xe8me\n\nbody \xff", at(19, 12, 0), {"menu.txt": b"caf\xe9\n"})
    [commit] = await LocalGitSource(repo.path).commits(
        DayWindow(date(2026, 2, 19), "Asia/Shanghai")
    )
    # git may transcode a latin-1 message itself; either way the text arrives readable.
    assert commit.title in ("fix: caf\ufffd cr\ufffdme", "fix: café crème")
    assert commit.files[0].patch is not None and "\ufffd" in commit.files[0].patch


async def test_branch_and_latest_commit_time(repo: GitRepo) -> None:
    repo.commit("chore: seed", at(19, 8, 0), {"a": "1"})
    repo.git("checkout", "-q", "-b", "release")
    repo.commit("fix: release only", at(21, 8, 0), {"a": "2"})
    repo.git("checkout", "-q", "main")
    main_source = LocalGitSource(repo.path)
    release_source = LocalGitSource(repo.path, branch="release")

    assert await main_source.latest_commit_time() == at(19, 8, 0)
    assert await release_source.latest_commit_time() == at(21, 8, 0)
    missing = LocalGitSource(repo.path, branch="nope")
    with pytest.raises(SourceError, match="branch 'nope' does not exist"):
        await missing.commits(DayWindow(date(2026, 2, 19), "UTC"))


async def test_a_path_that_is_not_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is not a git repository"):
        await LocalGitSource(tmp_path).commits(DayWindow(date(2026, 2, 19), "UTC"))
    with pytest.raises(SourceError, match="does not exist"):
        await LocalGitSource(tmp_path / "nope").commits(DayWindow(date(2026, 2, 19), "UTC"))


async def test_repo_name_comes_from_a_github_remote(repo: GitRepo) -> None:
    repo.commit("chore: seed", at(19, 8, 0), {"a": "1"})
    repo.git("remote", "add", "origin", "git@github.com:ai-dynamo/dynamo.git")
    source = LocalGitSource(repo.path)
    assert await source.repo_name() == "ai-dynamo/dynamo"
    [commit] = await source.commits(DayWindow(date(2026, 2, 19), "Asia/Shanghai"))
    assert commit.url == f"https://github.com/ai-dynamo/dynamo/commit/{commit.sha}"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/o/n.git", ("github.com", "o/n")),
        ("git@ghe.corp.example:team/app.git", ("ghe.corp.example", "team/app")),
        ("ssh://git@github.com:22/o/n", ("github.com", "o/n")),
        ("/srv/git/repo", None),
    ],
)
def test_parse_remote(url: str, expected: tuple[str, str] | None) -> None:
    assert parse_remote(url) == expected
