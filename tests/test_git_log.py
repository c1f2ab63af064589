"""Local git, file by file: every kind of change maps to its own patch, on real repositories."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.days import DayWindow
from bot.errors import CommandError
from bot.models import Commit, FileChange, FileStatus
from bot.sources.local_git import LocalGitSource
from bot.sources.patch_limits import PatchLimits
from tests.gitrepo import GitRepo

UTC = ZoneInfo("UTC")
DAY = DayWindow(date(2026, 2, 19), "UTC")


def at(hour: int, minute: int = 0, day: int = 19) -> datetime:
    return datetime(2026, 2, day, hour, minute, tzinfo=UTC)


async def day_of(repo: GitRepo, limits: PatchLimits | None = None) -> list[Commit]:
    return await LocalGitSource(repo.path, limits=limits).commits(DAY)


async def only_commit(repo: GitRepo, limits: PatchLimits | None = None) -> dict[str, FileChange]:
    [commit] = await day_of(repo, limits)
    return {f.path: f for f in commit.files}


def seed(repo: GitRepo, files: dict[str, str | bytes]) -> None:
    repo.commit("chore: seed", at(8, day=18), files)


async def test_an_empty_commit_has_no_files_and_its_neighbours_keep_theirs(repo: GitRepo) -> None:
    seed(repo, {"a.py": "a = 1\n"})
    before = repo.commit("fix: before", at(9), {"a.py": "a = 2\n"})
    empty = repo.commit("chore: trigger CI", at(10))
    after = repo.commit("fix: after", at(11), {"a.py": "a = 3\n"})

    commits = await day_of(repo)

    assert [c.sha for c in commits] == [before, empty, after]
    assert commits[1].files == ()
    assert commits[0].files[0].patch == "@@ -1 +1 @@\n-a = 1\n+a = 2"
    assert commits[2].files[0].patch == "@@ -1 +1 @@\n-a = 2\n+a = 3"
    [found] = await LocalGitSource(repo.path).find(sha=empty[:7])
    assert found.sha == empty and found.files == ()


async def test_symlink_turned_file_is_one_change_and_other_patches_stay_exact(
    repo: GitRepo,
) -> None:
    seed(repo, {"target.txt": "t\n", "app.py": "x = 1\n"})
    repo.symlink("config", "target.txt")
    repo.commit("chore: link", at(8, 30, day=18))
    (repo.path / "config").unlink()
    files = await _commit_and_read(
        repo, {"config": "real = 1\nmore = 2\n", "app.py": "x = 2\n", "z.py": "z = 1\n"}
    )

    assert set(files) == {"app.py", "config", "z.py"}
    config = files["config"]
    assert config.status is FileStatus.MODIFIED
    assert (config.additions, config.deletions) == (2, 1)
    assert config.patch is not None and "-target.txt" in config.patch
    assert "+real = 1" in config.patch
    assert files["app.py"].patch == "@@ -1 +1 @@\n-x = 1\n+x = 2"
    assert files["z.py"].patch == "@@ -0,0 +1 @@\n+z = 1"


async def _commit_and_read(repo: GitRepo, files: dict[str, str | bytes]) -> dict[str, FileChange]:
    repo.commit("feat: the change", at(12), files)
    return await only_commit(repo)


async def test_mode_only_change_has_no_patch_and_no_lines(repo: GitRepo) -> None:
    seed(repo, {"run.sh": "echo hi\n", "b.py": "b = 1\n"})
    os.chmod(repo.path / "run.sh", 0o755)
    files = await _commit_and_read(repo, {"b.py": "b = 2\n"})

    assert files["run.sh"].status is FileStatus.MODIFIED
    assert (files["run.sh"].additions, files["run.sh"].deletions) == (0, 0)
    assert files["run.sh"].patch is None and not files["run.sh"].binary
    assert files["b.py"].patch == "@@ -1 +1 @@\n-b = 1\n+b = 2"


async def test_renames_pure_and_edited_keep_old_paths(repo: GitRepo) -> None:
    body = "".join(f"line {i}\n" for i in range(20))
    seed(repo, {"old/a.py": body, "old/b.py": body.replace("line", "row")})
    repo.write("old/b.py", body.replace("line", "row") + "extra\n")
    (repo.path / "new").mkdir()
    repo.commit(
        "refactor: move",
        at(12),
        move=(("old/a.py", "new/a.py"), ("old/b.py", "new/b.py")),
    )
    files = await only_commit(repo)

    assert files["new/a.py"].status is FileStatus.RENAMED
    assert files["new/a.py"].old_path == "old/a.py" and files["new/a.py"].patch is None
    assert files["new/b.py"].old_path == "old/b.py"
    assert files["new/b.py"].additions == 1 and files["new/b.py"].patch is not None
    assert files["new/b.py"].patch.endswith("+extra")


async def test_a_copy_is_a_new_file_even_when_git_is_set_to_find_copies(repo: GitRepo) -> None:
    body = "".join(f"shared {i}\n" for i in range(30))
    seed(repo, {"lib/a.py": body})
    repo.git("config", "diff.renames", "copies")
    files = await _commit_and_read(repo, {"lib/b.py": body, "lib/a.py": body + "tail\n"})

    assert files["lib/b.py"].status is FileStatus.ADDED
    assert files["lib/b.py"].additions == 30 and files["lib/b.py"].old_path is None
    assert files["lib/a.py"].additions == 1


async def test_binaries_empty_files_and_text_side_by_side(repo: GitRepo) -> None:
    seed(repo, {"logo.png": b"\x89PNG\x00\x01", "a.txt": "a\n"})
    files = await _commit_and_read(
        repo, {"logo.png": b"\x89PNG\x00\x02", "empty.txt": "", "a.txt": "b\n", "data.bin": b"\0"}
    )

    assert files["logo.png"].binary and files["logo.png"].patch is None
    assert files["data.bin"].binary and files["data.bin"].status is FileStatus.ADDED
    empty = files["empty.txt"]
    assert empty.status is FileStatus.ADDED and not empty.binary and empty.patch is None
    assert files["a.txt"].patch == "@@ -1 +1 @@\n-a\n+b"


async def test_submodule_pointer_changes_are_files_with_their_commit_lines(repo: GitRepo) -> None:
    seed(repo, {"a.txt": "a\n"})
    repo.gitlink("vendor/lib", "1" * 40)
    repo.commit("build: add lib", at(8, 30, day=18))
    repo.gitlink("vendor/lib", "2" * 40)
    files = await _commit_and_read(repo, {"a.txt": "b\n"})

    lib = files["vendor/lib"]
    assert lib.status is FileStatus.MODIFIED and (lib.additions, lib.deletions) == (1, 1)
    assert lib.patch is not None
    assert f"-Subproject commit {'1' * 40}" in lib.patch
    assert f"+Subproject commit {'2' * 40}" in lib.patch
    assert files["a.txt"].patch == "@@ -1 +1 @@\n-a\n+b"


@pytest.mark.parametrize(
    "name",
    [
        "new\nline.txt",
        "tab\there.txt",
        'quote"d.txt',
        "space b/ inside.txt",
        "back\\slash.txt",
        "unicode-名前.txt",
    ],
)
async def test_odd_file_names_map_to_their_own_patches(repo: GitRepo, name: str) -> None:
    seed(repo, {"plain.txt": "p\n"})
    files = await _commit_and_read(repo, {name: "odd\n", "plain.txt": "q\n"})

    assert files[name].patch == "@@ -0,0 +1 @@\n+odd"
    assert files["plain.txt"].patch == "@@ -1 +1 @@\n-p\n+q"


async def test_non_utf8_file_name_and_rename_of_odd_names(repo: GitRepo) -> None:
    raw = os.fsdecode(b'caf\xe9 "x".txt')
    seed(repo, {raw: "c\n", "odd\tname.txt": "o\n" * 10})
    repo.commit("refactor: rename", at(12), move=(("odd\tname.txt", "odd\nname 2.txt"),))
    files = await only_commit(repo)
    assert files["odd\nname 2.txt"].old_path == "odd\tname.txt"

    repo.commit("fix: latin-1 name", at(13), {raw: "d\n"})
    commits = await day_of(repo)
    [changed] = commits[-1].files
    assert changed.path == 'caf\ufffd "x".txt'
    assert changed.patch == "@@ -1 +1 @@\n-c\n+d"


async def test_user_git_config_does_not_change_what_is_read(repo: GitRepo) -> None:
    seed(repo, {"a.py": "a = 1\n"})
    for key, value in (
        ("diff.noprefix", "true"),
        ("diff.mnemonicPrefix", "true"),
        ("color.ui", "always"),
        ("diff.external", "false"),
        ("log.showSignature", "true"),
        ("diff.submodule", "log"),
        ("log.showRoot", "false"),
        ("core.quotePath", "false"),
        ("diff.context", "0"),
    ):
        repo.git("config", key, value)
    files = await _commit_and_read(repo, {"a.py": "a = 2\n", "é t.py": "x\n"})

    assert files["a.py"].patch == "@@ -1 +1 @@\n-a = 1\n+a = 2"
    assert files["é t.py"].patch == "@@ -0,0 +1 @@\n+x"


async def test_messages_without_a_final_newline_or_quoting_a_diff(repo: GitRepo) -> None:
    seed(repo, {"a.py": "a = 1\n"})
    message = "docs: explain\n\ndiff --git a/a.py b/a.py\n@@ -1 +1 @@\n-old\n+new"
    repo.commit(message, at(12), {"a.py": "a = 2\n"})
    [commit] = await day_of(repo)
    assert commit.message == message
    assert [f.path for f in commit.files] == ["a.py"]


async def test_a_file_over_the_cap_keeps_whole_lines_and_its_counts(repo: GitRepo) -> None:
    seed(repo, {"a.txt": "a\n"})
    big = "".join(f"generated line {i:06d}\n" for i in range(10_000))  # 230 KB
    files = await _commit_and_read(repo, {"big.txt": big, "small.py": "s = 1\n"})
    limits = PatchLimits(file_bytes=4096, commit_bytes=1 << 20)
    files = await only_commit(repo, limits)

    capped = files["big.txt"]
    assert capped.patch_truncated and capped.additions == 10_000
    assert capped.patch is not None and len(capped.patch.encode()) <= 4096
    assert capped.patch.splitlines()[-1].startswith("+generated line ")
    assert len(capped.patch.splitlines()[-1]) == len("+generated line 000000")
    assert (
        not files["small.py"].patch_truncated and files["small.py"].patch == "@@ -0,0 +1 @@\n+s = 1"
    )


async def test_the_commit_cap_leaves_later_patches_out_but_counts_them(repo: GitRepo) -> None:
    seed(repo, {"a.txt": "a\n"})
    chunk = "".join(f"line {i:05d}\n" for i in range(400))  # 4.4 KB each
    repo.commit("feat: many", at(12), {f"f{i}.txt": chunk for i in range(5)})
    files = await only_commit(repo, PatchLimits(file_bytes=8192, commit_bytes=10_000))

    kept = [f for f in files.values() if f.patch and not f.patch_truncated]
    left_out = [f for f in files.values() if f.patch_truncated]
    assert len(kept) == 2 and len(left_out) == 3
    assert sum(len((f.patch or "").encode()) for f in files.values()) <= 10_000
    assert all(f.additions == 400 for f in files.values())


async def test_a_single_enormous_line_is_counted_not_held(repo: GitRepo) -> None:
    seed(repo, {"a.txt": "a\n"})
    files = await _commit_and_read(repo, {"app.min.js": "x" * (3 << 20) + "\n", "b.py": "b\n"})

    js = files["app.min.js"]
    assert js.additions == 1 and js.patch_truncated
    assert js.patch is not None and len(js.patch) < 100  # the hunk header only
    assert files["b.py"].patch == "@@ -0,0 +1 @@\n+b"


async def test_branch_names_that_are_options_are_refused(repo: GitRepo, tmp_path: Path) -> None:
    seed(repo, {"a.txt": "a\n"})
    for bad in ("--output=" + str(tmp_path / "written"), "-p", "a..b", "x y", "refs/@{0}"):
        with pytest.raises(CommandError, match="is not a branch name"):
            LocalGitSource(repo.path, branch=bad)
    assert not (tmp_path / "written").exists()
    assert await LocalGitSource(repo.path).find(sha="--output=x") == []


async def test_an_empty_repository_has_no_commits_and_no_latest_day(repo: GitRepo) -> None:
    source = LocalGitSource(repo.path)
    assert await source.commits(DAY) == []
    assert await source.latest_commit_time() is None
    assert await source.find(pr_number=1) == []


async def test_a_thousand_commit_day_in_one_read(repo: GitRepo) -> None:
    shas = repo.fast_import(1000, at(1), files_each=2)
    commits = await day_of(repo)
    assert [c.sha for c in commits] == shas
    assert all(len(c.files) == 2 for c in commits[1:])
    assert commits[-1].files[0].patch == "@@ -1 +1 @@\n-change 998\n+change 999"


async def test_a_two_megabyte_message_line_does_not_swallow_the_next_commit(
    repo: GitRepo,
) -> None:
    seed(repo, {"a.txt": "a\n"})
    first = repo.commit("feat: long\n\n" + "y" * (2 << 20), at(10), {"a.txt": "b\n"})
    second = repo.commit("fix: next", at(11), {"a.txt": "c\n"})
    commits = await day_of(repo)
    assert [c.sha for c in commits] == [first, second]
    assert commits[0].title == "feat: long" and commits[0].files[0].patch == "@@ -1 +1 @@\n-a\n+b"
    assert commits[1].files[0].patch == "@@ -1 +1 @@\n-b\n+c"
