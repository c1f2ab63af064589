"""Follow-up answers: from the model when one is configured, else from the stored analyses."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from bot.budget import DiffBudget
from bot.errors import ModelCallError, ModelError
from bot.i18n import LANGUAGE_NAMES
from bot.models import Commit, DigestEntry, RepoDigest
from bot.ports import ModelClient
from bot.prompts import Prompt, untrusted
from bot.telemetry import Fallback, emit

_log = logging.getLogger(__name__)

_ANSWER_TOKENS = {"en": 600, "zh": 900}
_CONTEXT_DIFF_TOKENS = 2500
# The most commits whose diffs one answer reads (their share of the tokens above).
CONTEXT_COMMITS = 4
_NO_MODEL = {
    "en": "No model is configured, so this is the stored analysis.",
    "zh": "未配置模型，以下是已保存的分析。",
}
_SHORTER = (
    "\n\nYour previous answer did not fit in the room allowed. Answer again, complete but "
    "at most half as long."
)
_CUT = {
    "en": "(The answer was cut off at the model's length limit.)",
    "zh": "（回答因模型长度上限被截断。）",
}


@dataclass(frozen=True)
class FollowUpContext:
    """What a question is about: the digest, the chosen entries, the thread's language.

    Entries hold commits without patches; `commits` are the chosen entries' whole commits (files
    and patches, loaded from the store) whose diffs the model is shown.
    """

    digest: RepoDigest | None
    entries: tuple[DigestEntry, ...]
    language: str
    commits: tuple[Commit, ...] = ()


class Answerer(Protocol):
    """Answers a follow-up question."""

    async def answer(
        self, question: str, context: FollowUpContext, history: list[tuple[str, str]]
    ) -> str:
        """The answer text (the core sanitizes it)."""
        ...

    async def explain(self, context: FollowUpContext) -> str | None:
        """An in-depth explanation and what to watch; None when there is nothing to add."""
        ...


def _stored(entry: DigestEntry) -> str:
    a = entry.analysis
    lines = [
        f"{entry.commit.short_sha} {entry.commit.title}",
        f"[{a.severity.value}] {a.severity_reason}",
        a.summary,
    ]
    lines += [f"- {r}" for r in (*a.risks, *a.recommendations)]
    return "\n".join(lines)


class StoredAnswerer:
    """Without a model: the stored analyses of the commits concerned, and a note saying so."""

    async def explain(self, context: FollowUpContext) -> str | None:
        """Nothing beyond the analysis already posted."""
        return None

    async def answer(
        self, question: str, context: FollowUpContext, history: list[tuple[str, str]]
    ) -> str:
        """The stored analysis (or the overview) with the no-model note."""
        note = _NO_MODEL[context.language]
        if context.entries:
            return note + "\n\n" + "\n\n".join(_stored(e) for e in context.entries[:3])
        digest = context.digest
        if digest and digest.overview:
            return f"{note}\n\n{digest.overview}"
        titles = "\n".join(
            f"- {e.commit.short_sha} {e.commit.title}"
            for e in (digest.entries if digest else ())[:10]
        )
        return f"{note}\n\n{titles}" if titles else note


class ModelAnswerer:
    """Answers with the model from the commits' analyses, budgeted diffs and earlier turns."""

    def __init__(
        self, client: ModelClient, prompt: Prompt, explain_prompt: Prompt, budget: DiffBudget
    ) -> None:
        self._client = client
        self._prompt = prompt
        self._explain_prompt = explain_prompt
        self._budget = budget
        self._fallback = StoredAnswerer()

    async def explain(self, context: FollowUpContext) -> str | None:
        """The model's in-depth explanation; None when the model fails (the entry stands)."""
        system, user = self._explain_prompt.render(
            language=LANGUAGE_NAMES[context.language], context=await self._context(context)
        )
        return await self._complete(system, user, context.language, 2)

    async def answer(
        self, question: str, context: FollowUpContext, history: list[tuple[str, str]]
    ) -> str:
        """The model's answer; the stored analysis when the model fails."""
        system, user = self._prompt.render(
            language=LANGUAGE_NAMES[context.language],
            context=await self._context(context),
            history="\n".join(f"{role}: {text}" for role, text in history) or "(none)",
            question=untrusted(question),
        )
        text = await self._complete(system, user, context.language, 1)
        return text or await self._fallback.answer(question, context, history)

    async def _complete(self, system: str, user: str, language: str, scale: int) -> str | None:
        """A whole answer: one cut at the token cap is asked again shorter, then marked cut."""
        room = _ANSWER_TOKENS.get(language, 900) * scale
        try:
            reply = await self._client.text_call(system, user, room)
            if reply.finish_reason == "length":
                _log.info("follow-up answer cut at %d tokens: asking for a shorter one", room)
                reply = await self._client.text_call(system, user + _SHORTER, room)
        except ModelError as exc:
            emit(Fallback("follow-up", _code(exc)), _log)
            return None
        text = reply.content.strip()
        if text and reply.finish_reason == "length":
            return f"{text}\n\n{_CUT.get(language, _CUT['en'])}"
        return text or None

    async def _context(self, context: FollowUpContext) -> str:
        if not context.entries:
            digest = context.digest
            overview = digest.overview if digest and digest.overview else ""
            titles = "\n".join(
                f"{e.commit.short_sha} [{e.analysis.severity.value}] {e.commit.title}"
                for e in (digest.entries if digest else ())
            )
            return "Digest overview:\n" + untrusted(f"{overview}\n{titles}")
        share = max(300, _CONTEXT_DIFF_TOKENS // len(context.entries))
        whole = {c.sha: c for c in context.commits}
        parts = []
        for entry in context.entries[:CONTEXT_COMMITS]:
            diff = await self._diff(whole.get(entry.commit.sha), share)
            parts.append(
                f"commit_id: {entry.commit.short_sha}\n"
                + untrusted(
                    f"{entry.commit.message}\n\nAnalysis:\n{_stored(entry)}\n\nDiff:\n{diff}"
                )
            )
        return "\n\n".join(parts)

    async def _diff(self, commit: Commit | None, share: int) -> str:
        if commit is None:  # not in the store (a digest from before commits were kept)
            return "(not stored)"
        # Splitting large patches is CPU work: keep it off the event loop.
        return (await asyncio.to_thread(self._budget.apply, commit, share)).text


def _code(exc: ModelError) -> str:
    return exc.code if isinstance(exc, ModelCallError) else str(exc)
