"""The model analyzer: one round where it can be, depth wherever the rules or triage ask for it.

At once, every commit the rules rate medium or high gets its deep call (its diff is read
before it can be rated low), while the rules-low commits are triaged in small batches from
their message and file list. A batch that rates a commit medium or high starts that deep
call right then; there is no barrier between triage and depth. Each analysis goes to the
engine's sink the moment it is final.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bot.analyzers.hints import recommendations_for, risks_for
from bot.analyzers.rules import RulesAnalyzer
from bot.budget import DiffBudget
from bot.i18n import LANGUAGE_NAMES
from bot.llm.asking import CUT_OFF, ask
from bot.llm.schema import AnalysisOut, TriageItem
from bot.llm.triage import Triage
from bot.models import (
    AnalyzerIdentity,
    Commit,
    CommitAnalysis,
    Coverage,
    Insights,
    Severity,
    Usage,
)
from bot.ports import AnalysisSink, ModelClient, Progress
from bot.prompts import Prompt, untrusted
from bot.telemetry import Fallback, emit

_log = logging.getLogger(__name__)
# Output allowances in English: enough for a full entry at each depth. Chinese prose takes
# about half as many characters per token again, so it gets half as much room again.
_OUTPUT_TOKENS = {Severity.HIGH: 1400, Severity.MEDIUM: 900, Severity.LOW: 400}
_LANGUAGE_ROOM = {"en": 1.0, "zh": 1.5}
_UNREACHABLE = "circuit_open"


@dataclass(frozen=True)
class Prompts:
    """The prompt files the analyzer renders."""

    triage: Prompt
    analysis: Prompt


class LlmAnalyzer:
    """Deep calls for rules-medium/high commits at once, triage for the rest, no barrier."""

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
        self,
        commits: Sequence[Commit],
        language: str,
        progress: Progress | None = None,
        *,
        tz: str | None = None,
        sink: AnalysisSink | None = None,
    ) -> tuple[list[CommitAnalysis], Usage]:
        """Analyses in the order given; a commit the model fails on gets the rules' analysis."""
        run = _Run(self, list(commits), language, tz, progress, sink)
        results = await run.go()
        unreachable = self._client.unreachable or _UNREACHABLE in run.failures
        return results, replace(run.usage, model_unreachable=unreachable)


@dataclass
class _Run:
    """One batch in flight: results so far, what it cost, the failures seen."""

    owner: LlmAnalyzer
    commits: list[Commit]
    language: str
    tz: str | None
    progress: Progress | None
    sink: AnalysisSink | None
    results: dict[str, CommitAnalysis] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    failures: set[str] = field(default_factory=set)

    async def go(self) -> list[CommitAnalysis]:
        owner = self.owner
        priors = {c.sha: owner._rules.analyze_now(c, self.language) for c in self.commits}
        triage = Triage(owner._client, owner._prompts.triage, owner._rules, self.language, self.tz)
        low = [c for c in self.commits if priors[c.sha].severity is Severity.LOW]
        try:
            async with asyncio.TaskGroup() as group:
                for commit in self.commits:
                    if priors[commit.sha].severity is not Severity.LOW:
                        group.create_task(self._deep(commit, None, priors[commit.sha]))
                for batch in triage.batches(low):
                    group.create_task(self._triage(triage, batch, group, priors))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None  # the sink's own error (a store down)
        return [self.results[c.sha] for c in self.commits]

    async def _triage(
        self,
        triage: Triage,
        batch: list[Commit],
        group: asyncio.TaskGroup,
        priors: dict[str, CommitAnalysis],
    ) -> None:
        judged = await triage.judge(batch)
        self.usage = self.usage + judged.usage
        if judged.failure:
            self.failures.add(judged.failure)
        for half in judged.split:
            group.create_task(self._triage(triage, half, group, priors))
        for commit in judged.rest:
            item = judged.items.get(commit.short_sha)
            prior = priors[commit.sha]
            if item is not None and item.severity == "low":
                await self._finish(self._from_triage(prior, item))
            else:
                # Upgraded (or not judged): its deep call starts now, not after the others.
                group.create_task(self._deep(commit, item, prior))

    async def _deep(self, commit: Commit, item: TriageItem | None, prior: CommitAnalysis) -> None:
        owner = self.owner
        expected = Severity(item.severity) if item else prior.severity
        room = _LANGUAGE_ROOM.get(self.language, 1.5)
        tokens, output = owner._budget.tokens, int(_OUTPUT_TOKENS[expected] * room)
        spent = Usage()
        failure = CUT_OFF
        for _ in range(2):
            # Splitting large patches is CPU work: keep it off the event loop.
            diff = await asyncio.to_thread(owner._budget.apply, commit, tokens, compact=True)
            system, user = self._render(commit, item, prior, diff.text)
            asked = await ask(
                owner._client,
                system,
                user,
                name="commit_analysis",
                model=AnalysisOut,
                max_tokens=output,
            )
            spent = spent + asked.usage
            self.usage = self.usage + asked.usage
            if isinstance(asked.parsed, AnalysisOut):
                out = _to_analysis(prior, asked.parsed, owner.identity, diff.coverage, spent)
                return await self._finish(out)
            failure = asked.failure or CUT_OFF
            if failure != CUT_OFF:
                break
            # Cut off at the output cap: show less diff and allow a longer answer, once.
            tokens, output = max(200, tokens // 2), output * 2
        await self._finish(self._fallback(commit, item, prior, failure, spent))

    def _render(
        self, commit: Commit, item: TriageItem | None, prior: CommitAnalysis, diff: str
    ) -> tuple[str, str]:
        return self.owner._prompts.analysis.render(
            language=LANGUAGE_NAMES[self.language],
            repo=commit.repo,
            commit_id=commit.short_sha,
            prior=prior.severity_reason,
            triage=f"{item.severity}: {item.severity_reason}" if item else "none",
            message=untrusted(commit.message),
            diff=untrusted(diff or "(empty)"),
        )

    def _from_triage(self, prior: CommitAnalysis, item: TriageItem) -> CommitAnalysis:
        # Judged from the message and file list: no coverage, since no diff was read.
        return replace(
            prior,
            change_type=item.change_type,
            severity=Severity.LOW,
            severity_reason=item.severity_reason,
            summary=item.summary,
            risks=(),
            recommendations=(),
            analyzer=self.owner.identity,
        )

    def _fallback(
        self,
        commit: Commit,
        item: TriageItem | None,
        prior: CommitAnalysis,
        code: str,
        spent: Usage,
    ) -> CommitAnalysis:
        """The rules' analysis, at the triage's severity when there was one."""
        self.failures.add(code)
        emit(Fallback("analysis", code, commit.repo, commit.short_sha), _log)
        base = prior if item is None else _judged(prior, commit, item, self.language)
        return replace(base, fallback_reason=code, usage=spent)

    async def _finish(self, analysis: CommitAnalysis) -> None:
        self.results[analysis.sha] = analysis
        if self.sink is not None:
            await self.sink(analysis)
        if self.progress:
            self.progress(len(self.results), len(self.commits))


def _judged(
    prior: CommitAnalysis, commit: Commit, item: TriageItem, language: str
) -> CommitAnalysis:
    """The rules' analysis at the triage's severity, with the triage's reason and summary."""
    deep = item.severity != "low"
    return replace(
        prior,
        change_type=item.change_type,
        severity=Severity(item.severity),
        severity_reason=item.severity_reason,
        summary=item.summary,
        risks=risks_for(commit, language) if deep else (),
        recommendations=recommendations_for(commit, language) if deep else (),
    )


def _to_analysis(
    prior: CommitAnalysis,
    out: AnalysisOut,
    identity: AnalyzerIdentity,
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
        impact_scope=tuple(out.impact_scope) if deep else prior.impact_scope,
        insights=insights,
        risks=tuple(out.risks) if deep else (),
        recommendations=tuple(out.recommendations) if deep else (),
        analyzer=identity,
        coverage=coverage,
        usage=usage,
    )
