"""The digest's opening paragraph, written in the same wave as the analyses.

It is written from what is known before any analysis returns: each commit's title, the start
of its message, what it touched and the rules' severity estimate. That keeps it off the
critical path: the digest waits for the slowest analysis, never for an extra overview round.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import date

from bot.analyzers.rules import RulesAnalyzer, message_body
from bot.errors import ModelCallError
from bot.files import component
from bot.i18n import LANGUAGE_NAMES
from bot.models import SEVERITIES_DESC, Commit, Severity, Usage
from bot.ports import ModelClient
from bot.prompts import Prompt, untrusted
from bot.telemetry import Fallback, emit

_log = logging.getLogger(__name__)
_OVERVIEW_TOKENS = {"en": 300, "zh": 450}
_ENTRIES_SHOWN = 40
_BODY_CHARS = 200


class LlmOverviewer:
    """One text call per digest; the digest goes out without an overview if it fails."""

    def __init__(self, client: ModelClient, prompt: Prompt, rules: RulesAnalyzer) -> None:
        self._client = client
        self._prompt = prompt
        self._rules = rules

    async def overview(
        self, repo: str, day: date, language: str, commits: Sequence[Commit]
    ) -> tuple[str | None, Usage]:
        """The paragraph, or None when the model fails or its answer was cut off."""
        severities = {c.sha: self._severity(c) for c in commits}
        counts = Counter(severities.values())
        ordered = sorted(commits, key=lambda c: -severities[c.sha].rank)[:_ENTRIES_SHOWN]
        system, user = self._prompt.render(
            language=LANGUAGE_NAMES[language],
            repo=repo,
            day=day.isoformat(),
            counts=", ".join(f"{counts[s]} {s.value} (rules estimate)" for s in SEVERITIES_DESC),
            entries=untrusted("\n".join(_line(c, severities[c.sha]) for c in ordered)),
        )
        try:
            reply = await self._client.text_call(system, user, _OVERVIEW_TOKENS.get(language, 450))
        except ModelCallError as exc:
            emit(Fallback("overview", exc.code, repo), _log)
            return None, Usage()
        text = " ".join(reply.content.split())
        if not text or reply.finish_reason == "length":
            return None, reply.usage
        return text, reply.usage

    def _severity(self, commit: Commit) -> Severity:
        return self._rules.rate(commit)


def _line(commit: Commit, severity: Severity) -> str:
    body = " ".join(message_body(commit).split())[:_BODY_CHARS]
    where = ", ".join(
        name for name, _ in Counter(component(f.path) for f in commit.files).most_common(3)
    )
    about = f" — {body}" if body else ""
    return (
        f"- [{severity.value}] {commit.title}{about} "
        f"({len(commit.files)} files in {where or '-'}, +{commit.additions}/-{commit.deletions})"
    )
