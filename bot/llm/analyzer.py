"""The model analyzer: a cheap triage of the whole day, depth only where severity asks for it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from bot.analyzers.rules import RulesAnalyzer, message_body
from bot.budget import DiffBudget
from bot.errors import ModelError
from bot.i18n import LANGUAGE_NAMES
from bot.llm.schema import AnalysisOut, TriageItem, TriageOut, strict_schema
from bot.models import (
    AnalyzerIdentity,
    Commit,
    CommitAnalysis,
    Coverage,
    Insights,
    Severity,
    Usage,
)
from bot.ports import ModelClient, ModelReply, Progress
from bot.prompts import Prompt, untrusted

M = TypeVar("M", bound=BaseModel)
TRIAGE_BATCH = 12
_SCHEMAS: dict[type[BaseModel], dict[str, object]] = {
    TriageOut: strict_schema(TriageOut),
    AnalysisOut: strict_schema(AnalysisOut),
}
# Output allowances: enough for a full entry at each depth; doubled once if an answer is cut off.
_OUTPUT_TOKENS = {Severity.HIGH: 1400, Severity.MEDIUM: 800}
_TRIAGE_OUTPUT_PER_COMMIT = 110


@dataclass(frozen=True)
class Asked:
    """The outcome of one question: a parsed answer or why there is none, and the cost."""

    parsed: BaseModel | None
    usage: Usage
    failure: str | None = None


@dataclass(frozen=True)
class Prompts:
    """The prompt files the analyzer renders."""

    triage: Prompt
    analysis: Prompt


class LlmAnalyzer:
    """Triage all commits in batches, then analyze medium and high commits with their diffs."""

    def __init__(
        self,
        client: ModelClient,
        prompts: Prompts,
        budget: DiffBudget,
        rules: RulesAnalyzer,
        model: str,
    ) -> None:
        self._client = client
        self._prompts = prompts
        self._budget = budget
        self._rules = rules
        # Both prompt versions key the cache: changing either re-analyzes.
        version = f"{prompts.triage.version}+{prompts.analysis.version}"
        self.identity = AnalyzerIdentity("llm", version, model)

    async def analyze_batch(
        self, commits: Sequence[Commit], language: str, progress: Progress | None = None
    ) -> tuple[list[CommitAnalysis], Usage]:
        """Analyses in the order given; a commit the model fails on gets the rules' analysis."""
        triage, usage = await self._triage_all(commits, language)
        done = 0

        async def one(commit: Commit) -> CommitAnalysis:
            nonlocal done
            item = triage.get(commit.short_sha)
            if item is not None and item.severity == "low":
                result = self._from_triage(commit, item, language)
            else:
                result = await self._deep(commit, item, language)
            done += 1
            if progress:
                progress(done, len(commits))
            return result

        analyses = await asyncio.gather(*(one(c) for c in commits))
        return list(analyses), usage + sum((a.usage for a in analyses), Usage())

    async def _triage_all(
        self, commits: Sequence[Commit], language: str
    ) -> tuple[dict[str, TriageItem], Usage]:
        batches = [commits[i : i + TRIAGE_BATCH] for i in range(0, len(commits), TRIAGE_BATCH)]
        answers = await asyncio.gather(*(self._triage(b, language) for b in batches))
        items: dict[str, TriageItem] = {}
        usage = Usage()
        for asked in answers:
            usage = usage + asked.usage
            if isinstance(asked.parsed, TriageOut):
                items.update({i.commit_id[:7]: i for i in asked.parsed.items})
        return items, usage

    async def _triage(self, batch: Sequence[Commit], language: str) -> Asked:
        listing = "\n\n".join(self._triage_line(c, language) for c in batch)
        system, user = self._prompts.triage.render(
            language=LANGUAGE_NAMES[language],
            repo=batch[0].repo,
            day=batch[0].committed_at.date().isoformat(),
            commits=listing,
        )
        return await self._ask(
            system, user, "triage", TriageOut, _TRIAGE_OUTPUT_PER_COMMIT * len(batch) + 100
        )

    def _triage_line(self, commit: Commit, language: str) -> str:
        score = self._rules.score(commit, "en")
        files = ", ".join(f"{f.path} (+{f.additions}/-{f.deletions})" for f in commit.files[:15])
        more = f" and {len(commit.files) - 15} more" if len(commit.files) > 15 else ""
        body = message_body(commit)[:600]
        return (
            f"commit_id: {commit.short_sha}\nrules score: {score.total} "
            f"({self._rules.severity_of(score.total).value})\n"
            + untrusted(f"{commit.title}\n{body}\nfiles: {files}{more}")
        )

    def _from_triage(self, commit: Commit, item: TriageItem, language: str) -> CommitAnalysis:
        base = self._rules.analyze_now(commit, language)
        return replace(
            base,
            change_type=item.change_type,
            severity=Severity(item.severity),
            severity_reason=item.severity_reason,
            summary=item.summary,
            risks=(),
            recommendations=(),
            analyzer=self.identity,
        )

    async def _deep(self, commit: Commit, item: TriageItem | None, language: str) -> CommitAnalysis:
        prior = self._rules.analyze_now(commit, language)
        severity = Severity(item.severity) if item else prior.severity
        tokens, output = self._budget.tokens, _OUTPUT_TOKENS.get(severity, 800)
        spent = Usage()
        for _ in range(2):
            diff = self._budget.apply(commit, tokens)
            system, user = self._prompts.analysis.render(
                language=LANGUAGE_NAMES[language],
                repo=commit.repo,
                commit_id=commit.short_sha,
                prior=prior.severity_reason,
                triage=f"{item.severity}: {item.severity_reason}" if item else "none",
                message=untrusted(commit.message),
                diff=untrusted(diff.text or "(empty)"),
            )
            asked = await self._ask(system, user, "commit_analysis", AnalysisOut, output)
            spent = spent + asked.usage
            if isinstance(asked.parsed, AnalysisOut):
                return self._to_analysis(commit, asked.parsed, prior, diff.coverage, spent)
            if asked.failure != "cut off":
                return replace(prior, fallback_reason=asked.failure, usage=spent)
            # Cut off at the output cap: show less diff and allow a longer answer, once.
            tokens, output = max(200, tokens // 2), output * 2
        return replace(prior, fallback_reason="the answer was cut off twice", usage=spent)

    def _to_analysis(
        self,
        commit: Commit,
        out: AnalysisOut,
        prior: CommitAnalysis,
        coverage: Coverage,
        usage: Usage,
    ) -> CommitAnalysis:
        severity = Severity(out.severity)
        insights = None
        if severity is Severity.HIGH and out.insights is not None:
            insights = Insights(**out.insights.model_dump())
        deep = severity is not Severity.LOW
        return replace(
            prior,
            change_type=out.change_type,
            severity=severity,
            severity_reason=out.severity_reason,
            summary=out.summary,
            impact_scope=tuple(out.impact_scope) if deep else (),
            insights=insights,
            risks=tuple(out.risks) if deep else (),
            recommendations=tuple(out.recommendations) if deep else (),
            analyzer=self.identity,
            coverage=coverage,
            usage=usage,
        )

    async def _ask(
        self, system: str, user: str, name: str, model: type[M], max_tokens: int
    ) -> Asked:
        """One question, with one repair retry when the answer is not valid JSON for the schema."""
        schema = _SCHEMAS[model]
        usage = Usage()
        for attempt in range(2):
            try:
                reply = await self._client.json_call(system, user, name, schema, max_tokens)
            except ModelError as exc:
                return Asked(None, usage, str(exc))
            usage = usage + reply.usage
            if reply.finish_reason == "length":
                return Asked(None, usage, "cut off")
            parsed, error = _validate(reply, model)
            if parsed is not None:
                return Asked(parsed, usage)
            if attempt == 0:
                user = (
                    f"{user}\n\nYour previous answer was not valid ({error}). "
                    "Answer again with JSON only, exactly matching the schema."
                )
        return Asked(None, usage, "invalid output twice")


def _validate(reply: ModelReply, model: type[M]) -> tuple[M | None, str]:
    text = reply.content.strip()
    if not text:
        return None, "empty answer"
    # Some providers wrap JSON in a Markdown fence despite json mode.
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        return model.model_validate_json(text), ""
    except ValidationError as exc:
        return None, exc.errors()[0]["msg"][:200]
