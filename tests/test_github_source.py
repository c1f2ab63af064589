"""The GitHub source against the REST emulator, through PyGithub itself."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.days import DayWindow
from bot.errors import CommandError, RateLimitedError, SourceError
from bot.models import Commit, FileChange, FileStatus
from bot.sources.github import GitHubSource, RetryPolicy
from bot.sources.local_git import LocalGitSource
from bot.sources.patch_limits import PatchLimits
from bot.storage.sql_store import SqlStore
from tests.emulators.github_api import GitHubEmulator
from tests.emulators.loopback import Fault
from tests.factories import change, commit
from tests.gitrepo import GitRepo

DAY = DayWindow(date(2026, 2, 19), "America/New_York")
NOON = datetime(2026, 2, 19, 17, 0, tzinfo=UTC)


def day_commits(n: int, files_each: int = 1) -> list[Commit]:
    start = datetime(2026, 2, 19, 12, 0, tzinfo=UTC)  # 07:00 in New York
    return [
        commit(
            f"feat: change {i} (#{100 + i})",
            *[change(f"src/m{i}/f{j}.py", 2) for j in range(files_each)],
            sha=f"{i:02d}" + "c" * 38,
            when=start + timedelta(minutes=i),
        )
        for i in range(n)
    ]


async def _sleepless(_: float) -> None:
    return None


def source(
    github: GitHubEmulator, store: SqlStore, name: str = "acme/app", **kwargs: Any
) -> GitHubSource:
    return GitHubSource(
        name,
        store,
        base_url=github.url,
        sleep=_sleepless,
        retry=RetryPolicy(attempts=3, backoff_seconds=0),
        **kwargs,
    )


async def test_lists_across_link_pages_and_reads_files_beyond_300(
    github: GitHubEmulator, store: SqlStore
) -> None:
    commits = day_commits(105)
    commits[0] = commit(
        "chore: huge",
        *[change(f"gen/f{i}.py", 1) for i in range(650)],
        sha=commits[0].sha,
        when=commits[0].committed_at,
    )
    outside = commit(
        "fix: late", change("a.py"), sha="f" * 40, when=datetime(2026, 2, 20, 6, 0, tzinfo=UTC)
    )  # 01:00 on the 20th in NY
    github.add_repo("acme/app", [*commits, outside])

    got = await source(github, store).commits(DAY)

    assert [c.sha for c in got] == [c.sha for c in commits]
    assert len(got[0].files) == 650
    pages = [r for r in github.requests if r.path == "/repos/acme/app/commits"]
    assert len(pages) == 2  # 100 a page (GitHub's largest), following Link: rel="next"
    assert pages[0].query["per_page"] == ["100"]
    huge = [r for r in github.requests if r.path.endswith(f"/commits/{commits[0].sha}")]
    assert len(huge) == 3  # 650 files at 300 a page, the largest GitHub gives for files
    # PyGithub labels since/until with Z, so the window must have been converted to UTC.
    assert pages[0].query["since"] == ["2026-02-19T05:00:00Z"]
    assert pages[0].query["until"] == ["2026-02-20T05:00:00Z"]


async def test_a_rerun_of_a_normal_day_costs_two_requests(
    github: GitHubEmulator, store: SqlStore
) -> None:
    github.add_repo("acme/app", day_commits(60))
    await source(github, store).commits(DAY)
    github.requests.clear()

    again = await source(github, store).commits(DAY)

    assert len(again) == 60
    # The repository, then the day's list in one page: stored commits are not fetched again.
    assert [r.path for r in github.requests] == ["/repos/acme/app", "/repos/acme/app/commits"]


async def test_fields_match_what_github_sends(github: GitHubEmulator, store: SqlStore) -> None:
    renamed = change("src/new.py", 1)
    renamed = type(renamed)(
        path="src/new.py",
        status=FileStatus.RENAMED,
        additions=0,
        deletions=0,
        old_path="src/old.py",
    )
    binary = change("logo.png", 0, binary=True, status=FileStatus.ADDED)
    github.add_repo(
        "acme/app",
        [
            commit(
                "Merge pull request #7 from x/y",
                renamed,
                binary,
                parents=2,
                when=datetime(2026, 2, 19, 15, 0, tzinfo=UTC),
            )
        ],
    )
    [got] = await source(github, store).commits(DAY)
    files = {f.path: f for f in got.files}
    assert got.is_merge and got.pr_number == 7
    assert files["src/new.py"].old_path == "src/old.py" and not files["src/new.py"].binary
    assert files["logo.png"].binary


async def test_5xx_is_retried(github: GitHubEmulator, store: SqlStore) -> None:
    github.add_repo("acme/app", day_commits(2))
    github.fail(Fault(502, {"message": "Bad Gateway"}), Fault(503, {"message": "busy"}))
    assert len(await source(github, store).commits(DAY)) == 2


async def test_5xx_that_persists_is_a_clear_error(github: GitHubEmulator, store: SqlStore) -> None:
    github.add_repo("acme/app", day_commits(1))
    github.fail(*[Fault(500, {"message": "Server Error"}) for _ in range(3)])
    with pytest.raises(SourceError, match="GitHub answered 500"):
        await source(github, store).commits(DAY)


async def test_unknown_repository_and_bad_token(github: GitHubEmulator, store: SqlStore) -> None:
    github.add_repo("acme/app", day_commits(1))
    with pytest.raises(SourceError, match="acme/nope not found"):
        await source(github, store, "acme/nope").commits(DAY)
    github.tokens = {"good"}
    with pytest.raises(SourceError, match="refused the token"):
        await source(github, store, token="bad").commits(DAY)
    assert len(await source(github, store, token="good").commits(DAY)) == 1


def _rate_limited(reset_in: float) -> Fault:
    reset = int(datetime.now(UTC).timestamp() + reset_in)
    return Fault(
        403,
        {"message": "API rate limit exceeded for 127.0.0.1."},
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )


async def test_rate_limit_far_from_reset_names_the_reset_time(
    github: GitHubEmulator, store: SqlStore
) -> None:
    github.add_repo("acme/app", day_commits(1))
    github.fail(_rate_limited(3000))
    with pytest.raises(RateLimitedError, match=r"resets at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"):
        await source(github, store).commits(DAY)


async def test_rate_limit_near_reset_waits_then_continues(
    github: GitHubEmulator, store: SqlStore
) -> None:
    github.add_repo("acme/app", day_commits(1))
    github.fail(_rate_limited(5), Fault(429, {"message": "slow down"}, {"Retry-After": "2"}))
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    src = GitHubSource("acme/app", store, base_url=github.url, sleep=record)
    assert len(await src.commits(DAY)) == 1
    assert len(waits) == 2 and 0 < waits[0] <= 6 and waits[1] == pytest.approx(2, abs=0.5)


async def test_latest_commit_time_and_default_branch(
    github: GitHubEmulator, store: SqlStore
) -> None:
    commits = day_commits(3)
    github.add_repo("acme/app", commits, default_branch="trunk")
    src = source(github, store)
    assert await src.latest_commit_time() == commits[-1].committed_at
    listing = [r for r in github.requests if r.path == "/repos/acme/app/commits"]
    assert listing[-1].query["sha"] == ["trunk"]


async def test_find_by_pull_request_api_and_by_sha(github: GitHubEmulator, store: SqlStore) -> None:
    commits = day_commits(3)
    plain = commit(
        "Squash without a number", change("src/x.py"), sha="e" * 40, when=commits[0].committed_at
    )
    github.add_repo("acme/app", [*commits, plain])
    github.pulls[("acme/app", 6356)] = plain.sha
    src = source(github, store)
    assert [c.sha for c in await src.find(pr_number=6356)] == [plain.sha]
    assert [c.sha for c in await src.find(sha=commits[1].sha[:9])] == [commits[1].sha]
    assert await src.find(pr_number=1) == []


async def test_a_patch_github_left_out_is_marked_not_seen(
    github: GitHubEmulator, store: SqlStore
) -> None:
    left_out = FileChange("src/generated.py", FileStatus.ADDED, 2528, 0, patch=None)
    empty = FileChange("pkg/__init__.py", FileStatus.ADDED, 0, 0, patch=None)
    github.add_repo(
        "acme/app",
        [
            commit(
                "feat: big module",
                left_out,
                empty,
                change("logo.png", 0, binary=True),
                change("src/small.py", 3),
                when=datetime(2026, 2, 19, 15, 0, tzinfo=UTC),
            )
        ],
    )
    [got] = await source(github, store).commits(DAY)
    files = {f.path: f for f in got.files}

    generated = files["src/generated.py"]
    assert generated.patch is None and generated.patch_truncated and not generated.binary
    assert generated.additions == 2528
    assert not files["pkg/__init__.py"].binary and not files["pkg/__init__.py"].patch_truncated
    assert files["logo.png"].binary and not files["logo.png"].patch_truncated
    assert files["src/small.py"].patch and not files["src/small.py"].patch_truncated


async def test_patches_are_capped_per_file_and_per_commit(
    github: GitHubEmulator, store: SqlStore
) -> None:
    github.add_repo(
        "acme/app",
        [commit("feat: wide", *[change(f"src/f{i}.py", 400) for i in range(4)], when=NOON)],
    )
    limits = PatchLimits(file_bytes=4000, commit_bytes=10_000)
    [got] = await source(github, store, limits=limits).commits(DAY)

    sizes = [len((f.patch or "").encode()) for f in got.files]
    assert all(size <= 4000 for size in sizes) and sum(sizes) <= 10_000
    assert all(f.patch_truncated and f.additions == 400 for f in got.files)
    assert got.files[-1].patch is None  # the commit's room was spent by the first files
    kept = got.files[0].patch or ""
    assert kept.splitlines()[-1].startswith("+line 0-")  # whole lines only


async def test_rate_limit_with_a_token_does_not_ask_for_one(
    github: GitHubEmulator, store: SqlStore
) -> None:
    github.add_repo("acme/app", day_commits(1))
    github.fail(_rate_limited(3000))
    with pytest.raises(RateLimitedError) as caught:
        await source(github, store, token="set").commits(DAY)
    assert "Set GITHUB_TOKEN" not in str(caught.value)
    assert "this GITHUB_TOKEN's" in str(caught.value)
    github.fail(_rate_limited(3000))
    with pytest.raises(RateLimitedError, match="Set GITHUB_TOKEN for a higher limit"):
        await source(github, store).commits(DAY)


async def test_a_reset_connection_is_retried_then_succeeds(
    github: GitHubEmulator, store: SqlStore
) -> None:
    github.add_repo("acme/app", day_commits(2))
    github.fail(Fault(0), Fault(0, path_contains="/commits"))
    assert len(await source(github, store).commits(DAY)) == 2


@pytest.mark.parametrize(
    ("scene", "words"),
    [
        ("stopped", "connection refused"),
        ("reset", "the connection was reset"),
        ("dns", "the host name does not resolve"),
        ("silent", "timed out"),
    ],
)
async def test_network_failures_are_retried_then_one_line_naming_the_host(
    github: GitHubEmulator, store: SqlStore, scene: str, words: str
) -> None:
    github.add_repo("acme/app", day_commits(1))
    url = github.url
    if scene == "stopped":
        github.stop()
    elif scene == "reset":
        github.fail(*[Fault(0) for _ in range(3)])
    elif scene == "dns":
        url = "http://github.nonexistent.invalid"
    else:
        github.fail(*[Fault(200, {}, delay=3) for _ in range(2)])
    attempts = 2 if scene == "silent" else 3
    retry = RetryPolicy(attempts=attempts, backoff_seconds=0, timeout_seconds=1)
    src = GitHubSource("acme/app", store, base_url=url, sleep=_sleepless, retry=retry)

    with pytest.raises(SourceError) as caught:
        await src.commits(DAY)

    host = url.removeprefix("http://")
    assert str(caught.value).startswith(f"cannot reach GitHub at {host}: {words}")
    assert f"tried {attempts} times" in str(caught.value) and "\n" not in str(caught.value)
    if scene == "reset":
        assert len(github.requests) == 3


async def test_a_branch_that_is_an_option_is_refused(store: SqlStore) -> None:
    with pytest.raises(CommandError, match="is not a branch name"):
        GitHubSource("acme/app", store, branch="--output=x")


async def test_both_sources_cut_big_patches_at_the_same_line(
    github: GitHubEmulator, store: SqlStore, repo: GitRepo
) -> None:
    when = datetime(2026, 2, 19, 15, 0, tzinfo=UTC)
    repo.commit("chore: seed", when - timedelta(hours=1), {"a.txt": "a\n"})
    rows = "".join(f"row {i:05d} é\n" for i in range(3000))
    repo.commit("feat: big", when, {f"data/f{i}.txt": rows[: 9000 * (i + 1)] for i in range(4)})
    whole = await LocalGitSource(repo.path, limits=PatchLimits(1 << 30, 1 << 30)).commits(DAY)
    github.add_repo("acme/app", whole)
    limits = PatchLimits(file_bytes=12_000, commit_bytes=30_000)

    local = await LocalGitSource(repo.path, limits=limits).commits(DAY)
    remote = await source(github, store, limits=limits).commits(DAY)

    assert [c.files for c in local] == [c.files for c in remote]
    assert any(f.patch_truncated and f.patch for f in local[-1].files)
    assert any(f.patch_truncated and f.patch is None for f in local[-1].files)
