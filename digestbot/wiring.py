"""The composition root: settings in, a running core (store, sources, analyzer, engine) out."""

from __future__ import annotations

import os
import re
import secrets
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.web.links import LinkSigner, SignedReportLinks
from bot.analyzers.rules import RulesAnalyzer
from bot.budget import DiffBudget
from bot.config import Settings
from bot.conversation import ChannelSetup, Conversation
from bot.delivery import NoReportLinks, Publisher, ReportLinks
from bot.digest import CommitFilter, DigestEngine
from bot.errors import ConfigError
from bot.followup import Answerer, ModelAnswerer, StoredAnswerer
from bot.ports import Analyzer, CommitSource
from bot.prompts import load_prompt
from bot.sources.local_git import LocalGitSource
from bot.sources.request_gate import RequestGate
from bot.storage.chat_store import SqlChatStore
from bot.storage.database import create_engine, migrate_async
from bot.storage.delivery_store import SqlDeliveryLog
from bot.storage.sql_store import SqlStore

if TYPE_CHECKING:
    from bot.llm.client import OpenAIModelClient
    from bot.llm.overview import LlmOverviewer

_GITHUB_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
ANALYZER_MODES = ("auto", "rules", "llm")


@dataclass
class Core:
    """What the composition root built; close it when done."""

    settings: Settings
    store: SqlStore
    engine: DigestEngine
    analyzer_note: str | None
    answerer: Answerer
    model_client: OpenAIModelClient | None = None
    links: ReportLinks = field(default_factory=NoReportLinks)
    signer: LinkSigner = field(default_factory=lambda: LinkSigner(secrets.token_bytes(32)))
    # One GitHub request budget for every source this process makes (the token's limit).
    github_gate: RequestGate = field(default_factory=RequestGate)

    async def conversation(self, specs: list[str], tz: str, language: str) -> Conversation:
        """The conversation core for one channel following some repositories (the console)."""
        sources = [self.source(spec) for spec in specs]
        named = {await s.repo_name(): s for s in sources}
        setup = ChannelSetup(named, tz, language)
        chat = SqlChatStore(self.store.engine)
        return Conversation(
            self.engine,
            self.store,
            chat,
            lambda _target: setup,
            self.answerer,
            publisher=self.publisher(),
        )

    def publisher(self) -> Publisher:
        """Posts digests exactly once per key, recorded in this database."""
        owner = f"{socket.gethostname()}:{os.getpid()}"
        chat = SqlChatStore(self.store.engine)
        return Publisher(SqlDeliveryLog(self.store.engine), chat, owner=owner, links=self.links)

    def source(self, spec: str, branch: str | None = None) -> CommitSource:
        """A local repository for a path, GitHub for `owner/name`."""
        return make_source(spec, self.settings, self.store, branch, gate=self.github_gate)

    async def close(self) -> None:
        """Release the database and the model's connections."""
        self.github_gate.close()
        if self.model_client is not None:
            await self.model_client.close()
        await self.store.close()


def make_source(
    spec: str,
    settings: Settings,
    store: SqlStore,
    branch: str | None = None,
    *,
    gate: RequestGate | None = None,
) -> CommitSource:
    """Choose the source for a `--repo` value: an existing path wins over `owner/name`.

    GitHub sources share `gate`, the process's one request budget (Core.github_gate).
    """
    path = Path(spec).expanduser()
    if path.exists() or spec.startswith((".", "/", "~")) or not _GITHUB_NAME.match(spec):
        return LocalGitSource(path, branch, settings.budget.patch_limits)
    # Imported here: PyGithub costs ~20 MiB of memory, which a local digest never needs.
    from bot.sources.github import GitHubSource

    token = settings.github.token.get_secret_value() if settings.github.token else None
    return GitHubSource(
        spec,
        store,
        token=token,
        base_url=settings.github.api_url,
        branch=branch,
        limits=settings.budget.patch_limits,
        gate=gate,
    )


@dataclass(frozen=True)
class AnalyzerChoice:
    """The analyzer, its model client and overviewer when a model is used, and a note."""

    analyzer: Analyzer
    client: OpenAIModelClient | None = None
    overviewer: LlmOverviewer | None = None
    note: str | None = None


def choose_analyzer(settings: Settings, mode: str) -> AnalyzerChoice:
    """The analyzer for a mode; the rules stand in (and say so) when no model is configured."""
    rules = RulesAnalyzer(settings.rules)
    if mode == "rules":
        return AnalyzerChoice(rules)
    if not settings.model.configured:
        if mode == "llm":
            raise ConfigError(
                "--analyzer llm needs OPENAI_API_KEY (and OPENAI_BASE_URL for "
                "a provider other than OpenAI)"
            )
        return AnalyzerChoice(
            rules, note="no model configured (OPENAI_API_KEY is unset): using the offline rules"
        )
    # Imported here: the openai SDK costs ~0.9 s of CPU to import and offline runs never use it.
    from bot.llm.analyzer import LlmAnalyzer, Prompts
    from bot.llm.client import OpenAIModelClient
    from bot.llm.overview import LlmOverviewer

    client = OpenAIModelClient(settings.model)
    prompts = Prompts(load_prompt("triage"), load_prompt("analysis"))
    analyzer = LlmAnalyzer(
        client, prompts, DiffBudget(settings.budget.tokens_per_commit), rules, settings.model.model
    )
    overviewer = LlmOverviewer(client, load_prompt("overview"), rules)
    return AnalyzerChoice(analyzer, client, overviewer)


async def open_core(settings: Settings, analyzer_mode: str = "auto") -> Core:
    """Migrate the database and build the engine."""
    choice = choose_analyzer(settings, analyzer_mode)
    await migrate_async(settings.database_url)
    store = SqlStore(create_engine(settings.database_url))
    engine = DigestEngine(
        choice.analyzer, store, CommitFilter(settings.filters), overviewer=choice.overviewer
    )
    answerer: Answerer = StoredAnswerer()
    if choice.client is not None:
        answerer = ModelAnswerer(
            choice.client,
            load_prompt("followup"),
            load_prompt("explain"),
            DiffBudget(settings.budget.tokens_per_commit),
        )
    core = Core(settings, store, engine, choice.note, answerer, choice.client)
    core.signer = link_signer(settings)
    if settings.web.public_url:
        core.links = SignedReportLinks(settings.web.public_url, core.signer)
    return core


def link_signer(settings: Settings) -> LinkSigner:
    """The report-link signer; without a secret, a random one (no private page opens)."""
    web = settings.web
    if web.public_url and web.link_secret is None:
        raise ConfigError(
            "DIGEST_PUBLIC_URL is set: set DIGEST_LINK_SECRET too (it signs report links)"
        )
    secret = (
        web.link_secret.get_secret_value().encode() if web.link_secret else secrets.token_bytes(32)
    )
    return LinkSigner(secret, web.public_repos, web.link_days * 86400, scope=web.link_scope)


def warn(message: str) -> None:
    """A line for the user on stderr."""
    print(f"digestbot: {message}", file=sys.stderr)
