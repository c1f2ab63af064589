"""Domain values for tests that do not need a repository."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.models import Commit, FileChange, FileStatus


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
