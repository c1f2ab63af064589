"""The GitHub source against the REST emulator, through PyGithub itself."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.days import DayWindow
from bot.errors import RateLimitedError, SourceError
from bot.models import Commit, FileStatus
from bot.sources.github import GitHubSource, RetryPolicy
from bot.storage.sql_store import SqlStore
from tests.emulators.github_api import GitHubEmulator
from tests.emulators.loopback import Fault
from tests.factories import change, commit

DAY = DayWindow(date(2026, 2, 19), "America/New_York")


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
    commits = day_commits(45)
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
    assert len(pages) >= 2  # the listing followed Link: rel="next"
    # PyGithub labels since/until with Z, so the window must have been converted to UTC.
    assert pages[0].query["since"] == ["2026-02-19T05:00:00Z"]
    assert pages[0].query["until"] == ["2026-02-20T05:00:00Z"]


async def test_stored_commits_are_not_fetched_again(
    github: GitHubEmulator, store: SqlStore
) -> None:
    github.add_repo("acme/app", day_commits(5))
    await source(github, store).commits(DAY)
    github.requests.clear()

    again = await source(github, store).commits(DAY)

    assert len(again) == 5
    detail_calls = [r for r in github.requests if r.path.startswith("/repos/acme/app/commits/")]
    assert detail_calls == []


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
    assert len(waits) == 2 and 0 < waits[0] <= 6 and waits[1] == 2


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
