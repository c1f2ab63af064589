"""The composition root: settings in, a running core (store, sources, analyzer, engine) out."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from bot.analyzers.rules import RulesAnalyzer
from bot.budget import DiffBudget
from bot.config import Settings
from bot.digest import CommitFilter, DigestEngine
from bot.ports import Analyzer, CommitSource, SourceError
from bot.sources.github import GitHubSource
from bot.sources.local_git import LocalGitSource
from bot.storage.database import create_engine, migrate_async
from bot.storage.sql_store import SqlStore

_GITHUB_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
ANALYZER_MODES = ("auto", "rules", "llm")


@dataclass
class Core:
    """What the composition root built; close it when done."""

    settings: Settings
    store: SqlStore
    engine: DigestEngine
    analyzer_note: str | None

    def source(self, spec: str, branch: str | None = None) -> CommitSource:
        """A local repository for a path, GitHub for `owner/name`."""
        return make_source(spec, self.settings, self.store, branch)

    async def close(self) -> None:
        """Release the database."""
        await self.store.close()


def make_source(
    spec: str, settings: Settings, store: SqlStore, branch: str | None = None
) -> CommitSource:
    """Choose the source for a `--repo` value: an existing path wins over `owner/name`."""
    path = Path(spec).expanduser()
    if path.exists() or spec.startswith((".", "/", "~")) or not _GITHUB_NAME.match(spec):
        return LocalGitSource(path, branch)
    token = settings.github.token.get_secret_value() if settings.github.token else None
    return GitHubSource(spec, store, token=token, base_url=settings.github.api_url, branch=branch)


def choose_analyzer(settings: Settings, mode: str) -> tuple[Analyzer, str | None]:
    """The analyzer for a mode, with a note for stderr when the rules stand in for a model."""
    rules = RulesAnalyzer(settings.rules)
    if mode == "rules":
        return rules, None
    if not settings.model.configured:
        if mode == "llm":
            raise SourceError(
                "--analyzer llm needs OPENAI_API_KEY (and OPENAI_BASE_URL for "
                "a provider other than OpenAI)"
            )
        return rules, "no model configured (OPENAI_API_KEY is unset): using the offline rules"
    raise SourceError("the model analyzer is not available in this build; use --analyzer rules")


async def open_core(settings: Settings, analyzer_mode: str = "auto") -> Core:
    """Migrate the database and build the engine."""
    analyzer, note = choose_analyzer(settings, analyzer_mode)
    await migrate_async(settings.database_url)
    store = SqlStore(create_engine(settings.database_url))
    engine = DigestEngine(
        analyzer,
        store,
        DiffBudget(settings.budget.tokens_per_commit),
        CommitFilter(settings.filters),
        concurrency=settings.model.concurrency,
    )
    return Core(settings, store, engine, note)


def warn(message: str) -> None:
    """A line for the user on stderr."""
    print(f"digestbot: {message}", file=sys.stderr)
