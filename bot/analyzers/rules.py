"""The offline rules analyzer: deterministic severity, type, summary and scope from metadata."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.analyzers.hints import recommendations_for, risks_for
from bot.config import RulesConfig
from bot.files import FileKind, component, file_kind
from bot.i18n import text
from bot.models import (
    CONVENTIONAL_TYPES,
    AnalyzerIdentity,
    Commit,
    CommitAnalysis,
    Severity,
    Usage,
)
from bot.ports import AnalysisSink, Progress

RULES_IDENTITY = AnalyzerIdentity(name="rules", prompt_version="rules-1", model="")
_TRAILER = re.compile(r"^[A-Za-z][A-Za-z0-9-]*(?:-by|-id|-Id|-ID| by)?: .+$")
_KNOWN_TRAILERS = re.compile(
    r"^(signed-off-by|co-authored-by|reviewed-by|acked-by|tested-by|reported-by|helped-by|"
    r"suggested-by|change-id|cc|fixes|closes|refs|see-also|bug|issue):",
    re.IGNORECASE,
)
# Pull-request template noise: headings (`## What?`), HTML comments (an unclosed one runs to
# the end), checklists, and lines that only close issues ("Fixes #12", "Closes org/repo#3").
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}(?:\s|$)")
_CHECKBOX = re.compile(r"^[-*+]\s+\[[ xX]\]")
_ISSUE = r"(?:[\w.-]+/[\w.-]+)?#\d+|https?://\S+"
_CLOSES = re.compile(
    rf"^(?:fix(?:e[sd])?|close[sd]?|resolve[sd]?)\b:?\s+(?:{_ISSUE})(?:\s*(?:,|and)\s*(?:{_ISSUE}))*\s*\.?$",
    re.IGNORECASE,
)
_BLANK_RUN = re.compile(r"\n(?:[ \t]*\n)+")
_LEAD = re.compile(r"^(?:[-*+]\s+)?(?:[a-zA-Z]+(?:\([^)]*\))?!?:\s*)?")
_PR_SUFFIX = re.compile(r"\s*\(#\d+\)\s*$")
# A message naming a security advisory or a vulnerability fix. Such a commit (often a small
# dependency bump) is at least medium: its diff is read, and its deep call starts at once.
_SECURITY = re.compile(
    r"\bCVE-\d{4}-\d{4,}\b|\bGHSA(?:-[0-9a-z]{4}){3}\b|\b(?:RUSTSEC|PYSEC|GO)-\d{4}-\d{4,}\b"
    r"|\bvulnerab\w*|\bsecurity[ -](?:fix|advisory|issue|patch|update|release|bug|hole)\w*"
    r"|^\w+\(security\)!?:",
    re.IGNORECASE | re.MULTILINE,
)
_KIND_PRIORITY = (FileKind.CODE, FileKind.CONFIG, FileKind.TEST, FileKind.DOCS, FileKind.OTHER)
_SUMMARY_LIMIT = 420
_SCOPE_LIMIT = 6

_WORDS = {
    "zh": {
        "lines": "改动 {n} 行",
        "files": "{n} 个文件",
        "kind": "以{kind}为主",
        "none": "无前缀",
        "code": "代码",
        "config": "配置",
        "test": "测试",
        "docs": "文档",
        "other": "其他文件",
        "high": "高",
        "medium": "中",
        "low": "低",
        "touch": "涉及 {where} 中 {n} 个文件（+{add}/−{dele}）。",
        "security": "提及安全问题（{what}）",
        "floor": "安全修复至少为中",
    },
    "en": {
        "lines": "lines {n}",
        "files": "files {n}",
        "kind": "mostly {kind}",
        "none": "no prefix",
        "code": "code",
        "config": "config",
        "test": "tests",
        "docs": "docs",
        "other": "other files",
        "high": "high",
        "medium": "medium",
        "low": "low",
        "touch": "Files: {n} in {where} (+{add}/−{dele}).",
        "security": "names a security issue ({what})",
        "floor": "a security fix is at least medium",
    },
}


@dataclass(frozen=True)
class Score:
    """A rules score with the weights that fired."""

    total: int
    parts: tuple[tuple[str, int], ...]


class RulesAnalyzer:
    """Scores a commit the way the earlier tool did; a fallback and a prior for the model."""

    identity = RULES_IDENTITY

    def __init__(self, config: RulesConfig) -> None:
        self._config = config

    async def analyze_batch(
        self,
        commits: Sequence[Commit],
        language: str,
        progress: Progress | None = None,
        *,
        tz: str | None = None,
        sink: AnalysisSink | None = None,
    ) -> tuple[list[CommitAnalysis], Usage]:
        """Analyze commits from their metadata alone; no model, no cost."""
        analyses = []
        for done, commit in enumerate(commits, 1):
            analyses.append(self.analyze_now(commit, language))
            if sink is not None:
                await sink(analyses[-1])
            if progress:
                progress(done, len(commits))
        return analyses, Usage()

    def analyze_now(self, commit: Commit, language: str) -> CommitAnalysis:
        """The synchronous analysis, also used as the model's prior and fallback."""
        score = self.score(commit, language)
        severity = self.rate(commit)
        depth = severity is not Severity.LOW
        return CommitAnalysis(
            sha=commit.sha,
            change_type=change_type(commit),
            severity=severity,
            severity_reason=self._reason(score, severity, language, security_named(commit)),
            summary=summarize(commit, language),
            impact_scope=impact_scope(commit, language),
            analyzer=RULES_IDENTITY,
            language=language,
            risks=risks_for(commit, language) if depth else (),
            recommendations=recommendations_for(commit, language) if depth else (),
        )

    def score(self, commit: Commit, language: str) -> Score:
        """The four weights of the reference rules, named."""
        words = _WORDS[language]
        conventional = commit.conventional
        ctype = conventional.type if conventional.type in self._config.type_weights else None
        type_part = (
            (ctype, self._config.type_weights[ctype])
            if ctype
            else (words["none"], self._config.no_prefix_weight)
        )
        lines = commit.additions + commit.deletions
        kind = dominant_kind(commit)
        parts = (
            type_part,
            (words["lines"].format(n=lines), _step(lines, self._config.line_steps)),
            (
                words["kind"].format(kind=words[kind.value]),
                self._config.kind_weights.get(kind.value, 0),
            ),
            (
                words["files"].format(n=len(commit.files)),
                _step(len(commit.files), self._config.file_steps),
            ),
        )
        return Score(sum(w for _, w in parts), parts)

    def rate(self, commit: Commit) -> Severity:
        """The commit's severity: its score's, raised to medium when it names a security fix."""
        severity = self.severity_of(self.score(commit, "en").total)
        if severity is Severity.LOW and security_named(commit):
            return Severity.MEDIUM
        return severity

    def severity_of(self, total: int) -> Severity:
        """Thresholds: high ≥ high, medium ≥ medium, else low."""
        if total >= self._config.high:
            return Severity.HIGH
        if total >= self._config.medium:
            return Severity.MEDIUM
        return Severity.LOW

    def _reason(self, score: Score, severity: Severity, language: str, security: str | None) -> str:
        words = _WORDS[language]
        fired = " · ".join(f"{name} +{w}" for name, w in score.parts if w)
        if security and self.severity_of(score.total) is Severity.LOW:
            named = words["security"].format(what=security)
            if language == "zh":
                return (
                    f"{fired} = {score.total}，{named}（{words[severity.value]}：{words['floor']}）"
                )
            return f"{fired} = {score.total}, {named} ({words[severity.value]}: {words['floor']})"
        threshold = {
            Severity.HIGH: f"≥ {self._config.high}",
            Severity.MEDIUM: f"≥ {self._config.medium}",
            Severity.LOW: f"< {self._config.medium}",
        }[severity]
        label = words[severity.value]
        if language == "zh":
            return f"{fired} = {score.total}（{label} {threshold}）"
        return f"{fired} = {score.total} ({label} {threshold})"


def security_named(commit: Commit) -> str | None:
    """The advisory id or words by which a commit's message names a security fix, if any."""
    match = _SECURITY.search(commit.message)
    return match.group(0).rstrip(":") if match else None


def _step(value: int, steps: list[tuple[int, int]]) -> int:
    for above, weight in sorted(steps, reverse=True):
        if value > above:
            return weight
    return 0


def dominant_kind(commit: Commit) -> FileKind:
    """The most common kind among changed files; ties go to the weightier kind."""
    counts = Counter(file_kind(f.path) for f in commit.files)
    if not counts:
        return FileKind.OTHER
    return max(_KIND_PRIORITY, key=lambda k: (counts[k], -_KIND_PRIORITY.index(k)))


def change_type(commit: Commit) -> str:
    """The conventional type, or one read from the files when the title has none."""
    ctype = commit.conventional.type
    if ctype is not None and ctype in CONVENTIONAL_TYPES:
        return ctype
    if commit.is_merge:
        return "merge"
    kinds = {file_kind(f.path) for f in commit.files}
    if kinds == {FileKind.DOCS}:
        return "docs"
    if kinds == {FileKind.TEST}:
        return "test"
    if kinds == {FileKind.CONFIG}:
        return "ci" if any(".github/" in f.path for f in commit.files) else "chore"
    return "change"


def message_body(commit: Commit) -> str:
    """The body as prose: no trailers, "Fixes #N" lines or pull-request template noise.

    Trailers: Signed-off-by, Co-authored-by, Change-Id…; template noise: headings (`## Why?`),
    HTML comments and checklists.
    """
    lines = _HTML_COMMENT.sub("", commit.body).splitlines()
    while lines and (not lines[-1].strip() or _is_trailer(lines[-1])):
        lines.pop()
    kept = "\n".join(line for line in lines if not _is_noise(line.strip()))
    return _BLANK_RUN.sub("\n\n", kept).strip()


def _is_trailer(line: str) -> bool:
    stripped = line.strip()
    return bool(_KNOWN_TRAILERS.match(stripped) or _TRAILER.match(stripped))


def _is_noise(line: str) -> bool:
    return any(p.match(line) for p in (_KNOWN_TRAILERS, _HEADING, _CHECKBOX, _CLOSES))


def _words(value: str) -> list[str]:
    """The words of a title or line, without a bullet, a conventional prefix or a (#N)."""
    value = _PR_SUFFIX.sub("", _LEAD.sub("", value.strip()))
    return re.findall(r"\w+", value.lower())


def summarize(commit: Commit, language: str) -> str:
    """The title's description and the body's first paragraph, then where it touched.

    A body that begins by restating the title does not say it twice.
    """
    description = commit.conventional.description or commit.title
    title = _words(description)
    lines = message_body(commit).splitlines()
    if lines and title and _words(lines[0]) == title:  # a line that only repeats the title
        lines = lines[1:]
    paragraph = " ".join("\n".join(lines).strip().split("\n\n", 1)[0].split())
    restated = bool(title) and _words(paragraph)[: len(title)] == title
    summary = paragraph if restated else description.rstrip(".") + "."
    if paragraph and not restated:
        summary += " " + paragraph
    if len(summary) > _SUMMARY_LIMIT:
        summary = summary[: _SUMMARY_LIMIT - 1].rsplit(" ", 1)[0] + "…"
    where = text(language, "list_sep").join(_components(commit)[:3]) or "—"
    touch = _WORDS[language]["touch"].format(
        n=len(commit.files), where=where, add=commit.additions, dele=commit.deletions
    )
    return f"{summary} {touch}"


def _components(commit: Commit) -> list[str]:
    counts = Counter(component(f.path) for f in commit.files)
    return [name for name, _ in counts.most_common()]


def impact_scope(commit: Commit, language: str) -> tuple[str, ...]:
    """The changed components with their file counts, largest first."""
    counts = Counter(component(f.path) for f in commit.files)
    scope = [
        f"{name} ({text(language, 'files_n', n=n)})"
        if language == "en"
        else f"{name}（{text(language, 'files_n', n=n)}）"
        for name, n in counts.most_common(_SCOPE_LIMIT)
    ]
    if len(counts) > _SCOPE_LIMIT:
        scope.append("…")
    return tuple(scope)
