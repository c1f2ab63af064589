"""JSON encoding of domain values for storage, through pydantic's dataclass support."""

from __future__ import annotations

from pydantic import TypeAdapter

from bot.models import Commit, CommitAnalysis, RepoDigest

COMMIT = TypeAdapter(Commit)
ANALYSIS = TypeAdapter(CommitAnalysis)
DIGEST = TypeAdapter(RepoDigest)
