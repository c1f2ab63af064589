"""Domain values for tests that do not need a repository."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.days import DayWindow
from bot.models import Commit, FileChange, FileStatus
from bot.ports import FetchProgress


def patch_of(lines: int, hunks: int = 1, prefix: str = "line") -> str:
    out = []
    per = max(1, lines // hunks)
    for h in range(hunks):
        out.append(f"@@ -{h * per + 1},0 +{h * per + 1},{per} @@")
        out.extend(f"+{prefix} {h}-{i}" for i in range(per))
    return "\n".join(out)


def change(
    path: str,
    added: int = 10,
    deleted: int = 0,
    *,
    hunks: int = 1,
    status: FileStatus = FileStatus.MODIFIED,
    binary: bool = False,
) -> FileChange:
    return FileChange(
        path=path,
        status=status,
        additions=added,
        deletions=deleted,
        patch=None if binary else patch_of(added, hunks),
        binary=binary,
    )


def commit(
    title: str,
    *files: FileChange,
    sha: str = "a" * 40,
    body: str = "",
    when: datetime | None = None,
    author: str = "Dev",
    parents: int = 1,
    repo: str = "acme/app",
) -> Commit:
    message = f"{title}\n\n{body}" if body else title
    return Commit(
        repo=repo,
        sha=sha,
        author=author,
        committed_at=when or datetime(2026, 2, 19, 8, 0, tzinfo=UTC),
        message=message,
        parents=parents,
        files=files,
        url=f"https://github.com/{repo}/commit/{sha}",
    )


class ListSource:
    """A commit source over a fixed list (for engine tests that need no git or GitHub)."""

    def __init__(self, name: str, commits: list[Commit]) -> None:
        self._name = name
        self._commits = commits

    async def repo_name(self) -> str:
        return self._name

    async def commits(
        self, window: DayWindow, progress: FetchProgress | None = None
    ) -> list[Commit]:
        day = [c for c in self._commits if window.contains(c.committed_at)]
        if progress:
            progress.fetched(len(day), len(day))
        return day

    async def latest_commit_time(self) -> datetime | None:
        return max((c.committed_at for c in self._commits), default=None)

    async def find(self, pr_number: int | None = None, sha: str | None = None) -> list[Commit]:
        return [
            c
            for c in self._commits
            if (pr_number is not None and c.pr_number == pr_number)
            or (sha is not None and c.sha.startswith(sha))
        ]


def day_of_commits(n: int, repo: str = "acme/app") -> list[Commit]:
    """A varied day: features, fixes, docs, tests, CI and a lockfile bump, newest last."""
    kinds = [
        ("feat(api): endpoint {i}", [("src/api/e{i}.py", 80), ("tests/test_e{i}.py", 20)]),
        ("fix: edge case {i}", [("src/core/c{i}.py", 12)]),
        ("docs: page {i}", [("docs/p{i}.md", 5)]),
        ("test: cover {i}", [("tests/test_c{i}.py", 30)]),
        ("ci: job {i}", [(".github/workflows/j{i}.yml", 6)]),
        ("chore(deps): lock {i}", [("Cargo.lock", 900)]),
    ]
    start = datetime(2026, 2, 19, 1, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        title, files = kinds[i % len(kinds)]
        out.append(
            commit(
                title.format(i=i),
                *[change(p.format(i=i), lines, hunks=4) for p, lines in files],
                sha=f"{i:04x}" + "b" * 36,
                when=start + timedelta(minutes=20 * i),
                repo=repo,
            )
        )
    return out
