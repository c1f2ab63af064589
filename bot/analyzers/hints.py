"""Deterministic risks and recommendations for the rules analyzer, from what a commit touched."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from bot.files import FileKind, file_kind
from bot.models import Commit, FileStatus

_MANIFESTS = {
    "pyproject.toml",
    "package.json",
    "cargo.toml",
    "go.mod",
    "requirements.txt",
    "setup.py",
    "setup.cfg",
    "gemfile",
    "pom.xml",
    "build.gradle",
}


@dataclass(frozen=True)
class Hint:
    """A check on a commit with its risk and recommendation in each language."""

    applies: Callable[[Commit], bool]
    risk: dict[str, str]
    advice: dict[str, str]


def _kinds(commit: Commit) -> set[FileKind]:
    return {file_kind(f.path) for f in commit.files}


def _names(commit: Commit) -> set[str]:
    return {PurePosixPath(f.path).name.lower() for f in commit.files}


def commit_breaking(commit: Commit) -> bool:
    """True when the title has `!` or the body declares BREAKING CHANGE."""
    return commit.conventional.breaking or "BREAKING CHANGE" in commit.body


HINTS = (
    Hint(
        commit_breaking,
        {
            "en": "Declared breaking change: callers and deployments may need updates.",
            "zh": "声明了破坏性变更：调用方与部署可能需要同步修改。",
        },
        {
            "en": "Read the upgrade notes and check every caller before deploying.",
            "zh": "部署前阅读升级说明，逐一检查调用方。",
        },
    ),
    Hint(
        lambda c: FileKind.CODE in _kinds(c) and FileKind.TEST not in _kinds(c),
        {"en": "Code changed without any test change.", "zh": "修改了代码但没有修改任何测试。"},
        {
            "en": "Add or update tests that cover the changed code paths.",
            "zh": "为改动的代码路径补充或更新测试。",
        },
    ),
    Hint(
        lambda c: bool(_MANIFESTS & _names(c)),
        {
            "en": "Dependency manifests changed: versions or build behaviour may shift.",
            "zh": "依赖清单有变动：版本或构建行为可能变化。",
        },
        {
            "en": "Check the lockfile and compatibility of the changed dependencies.",
            "zh": "核对锁文件以及变动依赖的兼容性。",
        },
    ),
    Hint(
        lambda c: any("migration" in f.path.lower() for f in c.files),
        {"en": "Database schema migration included.", "zh": "包含数据库结构迁移。"},
        {
            "en": "Plan the rollout order and a backup before migrating.",
            "zh": "迁移前规划发布顺序并做好备份。",
        },
    ),
    Hint(
        lambda c: any(f.path.startswith((".github/", ".gitlab-ci", ".ci/")) for f in c.files),
        {"en": "CI pipeline definitions changed.", "zh": "CI 流水线定义有变动。"},
        {
            "en": "Watch the next pipeline runs for new failures.",
            "zh": "关注接下来几次流水线运行是否出现新失败。",
        },
    ),
    Hint(
        lambda c: any(f.status is FileStatus.REMOVED for f in c.files),
        {
            "en": "Files were removed: anything still referring to them will break.",
            "zh": "删除了文件：仍引用它们的地方会出错。",
        },
        {
            "en": "Search for remaining references to the removed files.",
            "zh": "搜索对已删除文件的残留引用。",
        },
    ),
    Hint(
        lambda c: c.additions + c.deletions > 500,
        {
            "en": "Large change (over 500 lines): harder to review thoroughly.",
            "zh": "改动较大（超过 500 行），难以全面评审。",
        },
        {
            "en": "Review it in parts and watch for regressions after release.",
            "zh": "分块评审，并在发布后关注回归。",
        },
    ),
)


def risks_for(commit: Commit, language: str) -> tuple[str, ...]:
    """The risks that apply to a commit."""
    return tuple(h.risk[language] for h in HINTS if h.applies(commit))


def recommendations_for(commit: Commit, language: str) -> tuple[str, ...]:
    """The recommendations that apply to a commit."""
    return tuple(h.advice[language] for h in HINTS if h.applies(commit))
