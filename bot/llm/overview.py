"""The digest's opening paragraph, written by the model from the analyses."""

from __future__ import annotations

from bot.errors import ModelError
from bot.i18n import LANGUAGE_NAMES
from bot.models import SEVERITIES_DESC, RepoDigest, Usage
from bot.ports import ModelClient
from bot.prompts import Prompt, untrusted

_OVERVIEW_TOKENS = 300
_ENTRIES_SHOWN = 30


class LlmOverviewer:
    """One text call per digest; the digest goes out without an overview if it fails."""

    def __init__(self, client: ModelClient, prompt: Prompt) -> None:
        self._client = client
        self._prompt = prompt

    async def overview(self, digest: RepoDigest) -> tuple[str | None, Usage]:
        """The paragraph, or None when the model fails."""
        counts = digest.counts()
        lines = [
            f"- [{e.analysis.severity.value}] {e.commit.title}: {e.analysis.summary}"
            for e in digest.entries[:_ENTRIES_SHOWN]
        ]
        system, user = self._prompt.render(
            language=LANGUAGE_NAMES[digest.language],
            repo=digest.repo,
            day=digest.day.isoformat(),
            counts=", ".join(f"{counts[s]} {s.value}" for s in SEVERITIES_DESC),
            entries=untrusted("\n".join(lines)),
        )
        try:
            reply = await self._client.text_call(system, user, _OVERVIEW_TOKENS)
        except ModelError:
            return None, Usage()
        text = " ".join(reply.content.split())
        if not text or reply.finish_reason == "length":
            return None, reply.usage
        return text, reply.usage
