"""Each patch stored once: commits split into info and compressed files; digests into a summary
row and entry rows that reference commits and analyses.

Before: a commit row held the whole commit as JSON, and a digest row repeated every commit with
its patches beside its analysis. After: `commits.info` (JSON without files), `commits.files`
(zlib of the files' JSON) and `commits.pr_number`; `digests` keeps its identity and summary
(counts, overview, usage) and `digest_entries` lists (commit, analysis key) in order. Every
stored digest is converted; an entry's analysis goes to the cache when it is not there, and is
kept in the entry itself when it is a fallback (never cached) or differs from the cached one.

The conversion reads one digest (and 50 commits) at a time, with plain `json`, so it does not
depend on today's domain classes.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_CHUNK = 50
_ZLIB_LEVEL = 1  # as bot/storage/codec.py: most of the gain for a fraction of the CPU
_PR = (re.compile(r"\(#(\d+)\)\s*$"), re.compile(r"^Merge pull request #(\d+)\b"))
_INFO_FIELDS = ("repo", "sha", "author", "committed_at", "message", "parents", "url")
_SEVERITIES = ("high", "medium", "low")

commits = sa.table(
    "commits",
    sa.column("repo", sa.String),
    sa.column("sha", sa.String),
    sa.column("committed_at", sa.DateTime(timezone=True)),
    sa.column("payload", sa.Text),
    sa.column("pr_number", sa.Integer),
    sa.column("info", sa.Text),
    sa.column("files", sa.LargeBinary),
)
analyses = sa.table(
    "analyses",
    sa.column("sha", sa.String),
    sa.column("analyzer", sa.String),
    sa.column("prompt_version", sa.String),
    sa.column("model", sa.String),
    sa.column("language", sa.String),
    sa.column("payload", sa.Text),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
digests = sa.table(
    "digests",
    sa.column("id", sa.Integer),
    sa.column("repo", sa.String),
    sa.column("day", sa.Date),
    sa.column("tz", sa.String),
    sa.column("language", sa.String),
    sa.column("payload", sa.Text),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("high", sa.Integer),
    sa.column("medium", sa.Integer),
    sa.column("low", sa.Integer),
    sa.column("overview", sa.Text),
    sa.column("usage", sa.Text),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
entries = sa.table(
    "digest_entries",
    sa.column("digest_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("repo", sa.String),
    sa.column("sha", sa.String),
    sa.column("analyzer", sa.String),
    sa.column("prompt_version", sa.String),
    sa.column("model", sa.String),
    sa.column("language", sa.String),
    sa.column("analysis", sa.Text),
)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _pr_number(message: str) -> int | None:
    title = message.strip().split("\n", 1)[0].strip()
    for pattern in _PR:
        found = pattern.search(title)
        if found:
            return int(found.group(1))
    return None


def _split_commit(commit: dict[str, Any]) -> dict[str, Any]:
    """The new columns of a commit given as the old JSON."""
    return {
        "pr_number": _pr_number(commit["message"]),
        "info": _dumps({k: commit.get(k) for k in _INFO_FIELDS}),
        "files": zlib.compress(_dumps(commit["files"]).encode(), _ZLIB_LEVEL),
    }


def _whole_commit(info: str, files: bytes) -> dict[str, Any]:
    """The old JSON of a commit, from the new columns."""
    return {**json.loads(info), "files": json.loads(zlib.decompress(files))}


def upgrade() -> None:
    with op.batch_alter_table("commits") as batch:
        batch.add_column(sa.Column("pr_number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("info", sa.Text(), nullable=True))
        batch.add_column(sa.Column("files", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("digests") as batch:
        for name in _SEVERITIES:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch.add_column(sa.Column("overview", sa.Text(), nullable=True))
        batch.add_column(sa.Column("usage", sa.Text(), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "digest_entries",
        sa.Column("digest_id", sa.Integer(), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("repo", sa.String(200), nullable=False),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("analyzer", sa.String(40), nullable=False),
        sa.Column("prompt_version", sa.String(40), nullable=False),
        sa.Column("model", sa.String(120), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("analysis", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["digest_id"], ["digests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["repo", "sha"], ["commits.repo", "commits.sha"]),
    )
    connection = op.get_bind()
    _split_commits(connection)
    for digest_id in connection.execute(sa.select(digests.c.id)).scalars().all():
        _convert_digest(connection, digest_id)
    with op.batch_alter_table("commits") as batch:
        batch.drop_column("payload")
        batch.alter_column("info", existing_type=sa.Text(), nullable=False)
        batch.alter_column("files", existing_type=sa.LargeBinary(), nullable=False)
        batch.create_index("ix_commits_repo_pr", ["repo", "pr_number"])
    with op.batch_alter_table("digests") as batch:
        batch.drop_column("payload")
        for name in _SEVERITIES:
            batch.alter_column(name, existing_type=sa.Integer(), nullable=False)
        batch.alter_column("usage", existing_type=sa.Text(), nullable=False)
        batch.alter_column("updated_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def _old_commits(connection: sa.Connection) -> Iterator[list[sa.Row[Any]]]:
    """The stored commits, a chunk at a time (keyset paging: memory stays at one chunk)."""
    last: tuple[str, str] | None = None
    while True:
        query = sa.select(commits.c.repo, commits.c.sha, commits.c.payload)
        if last is not None:
            query = query.where(sa.tuple_(commits.c.repo, commits.c.sha) > last)
        rows = connection.execute(query.order_by(commits.c.repo, commits.c.sha).limit(_CHUNK)).all()
        if not rows:
            return
        yield list(rows)
        last = (rows[-1].repo, rows[-1].sha)


def _split_commits(connection: sa.Connection) -> None:
    for rows in _old_commits(connection):
        for row in rows:
            connection.execute(
                sa.update(commits)
                .where(commits.c.repo == row.repo, commits.c.sha == row.sha)
                .values(**_split_commit(json.loads(row.payload)))
            )


def _convert_digest(connection: sa.Connection, digest_id: int) -> None:
    row = connection.execute(
        sa.select(digests.c.payload, digests.c.created_at).where(digests.c.id == digest_id)
    ).one()
    digest = json.loads(row.payload)
    counts = dict.fromkeys(_SEVERITIES, 0)
    known = _cached_analyses(connection, digest)
    for position, entry in enumerate(digest["entries"]):
        commit, analysis = entry["commit"], entry["analysis"]
        _keep_commit(connection, commit)
        counts[analysis["severity"]] += 1
        identity = analysis["analyzer"]
        key = (
            analysis["sha"],
            identity["name"],
            identity["prompt_version"],
            identity["model"],
            analysis["language"],
        )
        inline = None
        if analysis.get("fallback_reason"):
            inline = _dumps(analysis)
        elif key not in known:
            connection.execute(
                sa.insert(analyses).values(
                    sha=key[0],
                    analyzer=key[1],
                    prompt_version=key[2],
                    model=key[3],
                    language=key[4],
                    payload=_dumps(analysis),
                    created_at=row.created_at,
                )
            )
            known[key] = analysis
        elif known[key] != analysis:  # another run cached a different answer for the key
            inline = _dumps(analysis)
        connection.execute(
            sa.insert(entries).values(
                digest_id=digest_id,
                position=position,
                repo=commit["repo"],
                sha=commit["sha"],
                analyzer=key[1],
                prompt_version=key[2],
                model=key[3],
                language=key[4],
                analysis=inline,
            )
        )
    connection.execute(
        sa.update(digests)
        .where(digests.c.id == digest_id)
        .values(
            **counts,
            overview=digest.get("overview"),
            usage=_dumps(digest.get("usage") or {}),
            updated_at=row.created_at,
        )
    )


def _cached_analyses(
    connection: sa.Connection, digest: dict[str, Any]
) -> dict[tuple[str, ...], Any]:
    """The cached analyses of a digest's commits, by key."""
    shas = sorted({e["analysis"]["sha"] for e in digest["entries"]})
    found: dict[tuple[str, ...], Any] = {}
    for start in range(0, len(shas), _CHUNK):
        rows = connection.execute(
            sa.select(analyses).where(analyses.c.sha.in_(shas[start : start + _CHUNK]))
        ).all()
        for r in rows:
            key = (r.sha, r.analyzer, r.prompt_version, r.model, r.language)
            found[key] = json.loads(r.payload)
    return found


def _keep_commit(connection: sa.Connection, commit: dict[str, Any]) -> None:
    """Store a digest's commit when the commits table lacks it (it normally has it)."""
    exists = connection.execute(
        sa.select(commits.c.sha).where(
            commits.c.repo == commit["repo"], commits.c.sha == commit["sha"]
        )
    ).first()
    if exists is None:
        connection.execute(
            sa.insert(commits).values(
                repo=commit["repo"],
                sha=commit["sha"],
                committed_at=datetime.fromisoformat(commit["committed_at"]).astimezone(UTC),
                payload="",  # dropped at the end of this migration
                **_split_commit(commit),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("commits") as batch:
        batch.add_column(sa.Column("payload", sa.Text(), nullable=True))
    with op.batch_alter_table("digests") as batch:
        batch.add_column(sa.Column("payload", sa.Text(), nullable=True))
    connection = op.get_bind()
    _join_commits(connection)
    for digest_id in connection.execute(sa.select(digests.c.id)).scalars().all():
        _rebuild_digest(connection, digest_id)
    op.drop_table("digest_entries")
    with op.batch_alter_table("commits") as batch:
        batch.drop_index("ix_commits_repo_pr")
        for name in ("pr_number", "info", "files"):
            batch.drop_column(name)
        batch.alter_column("payload", existing_type=sa.Text(), nullable=False)
    with op.batch_alter_table("digests") as batch:
        for name in (*_SEVERITIES, "overview", "usage", "updated_at"):
            batch.drop_column(name)
        batch.alter_column("payload", existing_type=sa.Text(), nullable=False)


def _join_commits(connection: sa.Connection) -> None:
    keys = connection.execute(sa.select(commits.c.repo, commits.c.sha)).all()
    for key in keys:
        row = connection.execute(
            sa.select(commits.c.info, commits.c.files).where(
                commits.c.repo == key.repo, commits.c.sha == key.sha
            )
        ).one()
        connection.execute(
            sa.update(commits)
            .where(commits.c.repo == key.repo, commits.c.sha == key.sha)
            .values(payload=_dumps(_whole_commit(row.info, row.files)))
        )


def _rebuild_digest(connection: sa.Connection, digest_id: int) -> None:
    row = connection.execute(sa.select(digests).where(digests.c.id == digest_id)).one()
    found = connection.execute(
        sa.select(entries.c.analysis, commits.c.info, commits.c.files, analyses.c.payload)
        .select_from(entries)
        .join(commits, sa.and_(commits.c.repo == entries.c.repo, commits.c.sha == entries.c.sha))
        .outerjoin(
            analyses,
            sa.and_(
                analyses.c.sha == entries.c.sha,
                analyses.c.analyzer == entries.c.analyzer,
                analyses.c.prompt_version == entries.c.prompt_version,
                analyses.c.model == entries.c.model,
                analyses.c.language == entries.c.language,
            ),
        )
        .where(entries.c.digest_id == digest_id)
        .order_by(entries.c.position)
    ).all()
    payload = {
        "repo": row.repo,
        "day": row.day.isoformat(),
        "tz": row.tz,
        "language": row.language,
        "entries": [
            {
                "commit": _whole_commit(e.info, e.files),
                "analysis": json.loads(e.analysis or e.payload),
            }
            for e in found
        ],
        "overview": row.overview,
        "usage": json.loads(row.usage),
    }
    connection.execute(
        sa.update(digests).where(digests.c.id == digest_id).values(payload=_dumps(payload))
    )
