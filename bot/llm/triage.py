"""Triage: rules-low commits judged in small batches from their message and file list."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.analyzers.rules import RulesAnalyzer, message_body
from bot.days import zone
from bot.i18n import LANGUAGE_NAMES
from bot.llm.asking import CUT_OFF, ask
from bot.llm.schema import TriageItem, TriageOut
from bot.models import Commit, Usage
from bot.ports import ModelClient
from bot.prompts import Prompt, untrusted

_log = logging.getLogger(__name__)
# Small batches: more of them run side by side, and a cut-off answer costs less.
TRIAGE_BATCH = 8
# Output tokens per commit: a one-line reason and a two-sentence summary, plus the JSON
# around them. A Chinese summary alone needs about 130 tokens.
_ROOM_PER_COMMIT = {"en": 160, "zh": 240}
_ROOM_BASE = 150
_FILES_LISTED = 15


@dataclass(frozen=True)
class Judged:
    """A batch's outcome: items by short SHA for `rest`, or halves to ask again."""

    usage: Usage
    items: dict[str, TriageItem] = field(default_factory=dict)
    rest: list[Commit] = field(default_factory=list)
    split: list[list[Commit]] = field(default_factory=list)
    failure: str | None = None


class Triage:
    """Renders and asks one triage batch; a batch whose answer was cut off is split in two."""

    def __init__(
        self,
        client: ModelClient,
        prompt: Prompt,
        rules: RulesAnalyzer,
        language: str,
        tz: str | None,
    ) -> None:
        self._client = client
        self._prompt = prompt
        self._rules = rules
        self._language = language
        self._tz = tz

    @staticmethod
    def batches(commits: Sequence[Commit]) -> list[list[Commit]]:
        """Even batches of at most TRIAGE_BATCH commits."""
        if not commits:
            return []
        count = math.ceil(len(commits) / TRIAGE_BATCH)
        size = math.ceil(len(commits) / count)
        return [list(commits[i : i + size]) for i in range(0, len(commits), size)]

    async def judge(self, batch: list[Commit]) -> Judged:
        """Ask about one batch; on a cut-off answer, return its halves to ask again."""
        system, user = self._prompt.render(
            language=LANGUAGE_NAMES[self._language],
            repo=batch[0].repo,
            day=self._local(batch[0].committed_at).date().isoformat(),
            tz=self._zone_name(batch[0].committed_at),
            commits="\n\n".join(self._line(c) for c in batch),
        )
        per_commit = _ROOM_PER_COMMIT.get(self._language, 240)
        room = per_commit * len(batch) + _ROOM_BASE
        asked = await ask(
            self._client, system, user, name="triage", model=TriageOut, max_tokens=room
        )
        if asked.failure == CUT_OFF and len(batch) > 1:
            _log.info("triage of %d commits was cut off: asking in two halves", len(batch))
            middle = len(batch) // 2
            return Judged(asked.usage, split=[batch[:middle], batch[middle:]])
        items: dict[str, TriageItem] = {}
        if isinstance(asked.parsed, TriageOut):
            items = {i.commit_id.strip()[:7]: i for i in asked.parsed.items}
        return Judged(asked.usage, items, batch, failure=asked.failure)

    def _line(self, commit: Commit) -> str:
        score = self._rules.score(commit, "en")
        files = ", ".join(
            f"{f.path} (+{f.additions}/-{f.deletions})" for f in commit.files[:_FILES_LISTED]
        )
        extra = len(commit.files) - _FILES_LISTED
        more = f" and {extra} more" if extra > 0 else ""
        when = self._local(commit.committed_at).strftime("%Y-%m-%d %H:%M")
        body = message_body(commit)[:600]
        return (
            f"commit_id: {commit.short_sha}\ncommitted: {when}\n"
            f"rules score: {score.total} ({self._rules.rate(commit).value})\n"
            + untrusted(f"{commit.title}\n{body}\nfiles: {files}{more}")
        )

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(zone(self._tz)) if self._tz else moment

    def _zone_name(self, moment: datetime) -> str:
        return self._tz or moment.strftime("UTC%z")
