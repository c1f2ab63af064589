"""A digest's entry rows: what each references, and the join that reassembles them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select

from bot.models import DigestEntry
from bot.storage.codec import ANALYSIS, INFO
from bot.storage.schema import AnalysisRow, CommitRow, DigestEntryRow

_log = logging.getLogger(__name__)


def entry_values(digest_id: int, position: int, entry: DigestEntry) -> dict[str, Any]:
    """The row of a digest's entry at a position."""
    analysis = entry.analysis
    identity = analysis.analyzer
    # A fallback is never cached (the next run asks the model again): it is kept here.
    inline = ANALYSIS.dump_json(analysis).decode() if analysis.fallback_reason else None
    return {
        "digest_id": digest_id,
        "position": position,
        "repo": entry.commit.repo,
        "sha": entry.commit.sha,
        "analyzer": identity.name,
        "prompt_version": identity.prompt_version,
        "model": identity.model,
        "language": analysis.language,
        "analysis": inline,
    }


def entries_query(digest_id: int) -> Any:
    """A digest's entries in order: commit info and analysis, never the commit's files."""
    e, c, a = DigestEntryRow, CommitRow, AnalysisRow
    return (
        select(e.analysis, c.info, a.payload)
        .select_from(e)
        .join(c, and_(c.repo == e.repo, c.sha == e.sha))
        .outerjoin(
            a,
            and_(
                a.sha == e.sha,
                a.analyzer == e.analyzer,
                a.prompt_version == e.prompt_version,
                a.model == e.model,
                a.language == e.language,
            ),
        )
        .where(e.digest_id == digest_id)
        .order_by(e.position)
    )


def decode_entries(digest_id: int, rows: Sequence[Any]) -> tuple[DigestEntry, ...]:
    """The entries from `entries_query`'s rows (blocking: JSON is parsed)."""
    entries = []
    for row in rows:
        text = row.analysis or row.payload
        if text is None:  # the cache lost it (deleted by hand): show the rest
            _log.warning("digest %d: an entry's analysis is missing from the cache", digest_id)
            continue
        entries.append(DigestEntry(INFO.validate_json(row.info), ANALYSIS.validate_json(text)))
    return tuple(entries)
