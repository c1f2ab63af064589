"""The composition root: settings in, a running core (store, sources, analyzer, engine) out."""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.web.links import LinkSigner, SignedReportLinks
from bot.analyzers.rules import RulesAnalyzer
from bot.budget import DiffBudget
from bot.builds import BuildGate, SharedBuildEngine, WaitPolicy
from bot.config import Settings
from bot.conversation import ChannelSetup, Conversation
from bot.delivery import NoReportLinks, Publisher, ReportLinks
from bot.digest import CommitFilter, DigestEngine
from bot.errors import ConfigError
from bot.followup import Answerer, ModelAnswerer, StoredAnswerer
from bot.forge import add_github_host
from bot.limits import SharedBudget, SharedSlots, SlotLimitedModel
from bot.ports import Analyzer, CommitSource, FetchProgress, ModelClient
from bot.prompts import load_prompt
from bot.sources.local_git import LocalGitSource
from bot.sources.request_gate import RequestGate
from bot.storage.chat_store import SqlChatStore
from bot.storage.database import create_engine, migrate_async
from bot.storage.delivery_store import SqlDeliveryLog
from bot.storage.fleet_store import SqlLeaseLocks, SqlTokenBuckets
from bot.storage.sql_store import SqlStore
from bot.subscriptions import split_repo_spec

# Re-exported for the modules that import them from here (roles.py).
from digestbot.terminal import ANALYZER_MODES as ANALYZER_MODES  # noqa: PLC0414
from digestbot.terminal import warn as warn  # noqa: PLC0414

if TYPE_CHECKING:
    from bot.llm.client import OpenAIModelClient
    from bot.llm.overview import LlmOverviewer

_GITHUB_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
ModelLimit = Callable[[ModelClient], ModelClient]


def process_owner() -> str:
    """Who claims posts: host and pid, and a random part.

    Two containers can share `hostname:pid` (pid 1 in containers named alike); they must never
    share a claim, or each would resume the other's post.
    """
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


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
    owner: str = field(default_factory=process_owner)
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
        """Posts digests exactly once per key, recorded in this database, as this process."""
        chat = SqlChatStore(self.store.engine)
        log = SqlDeliveryLog(self.store.engine)
        return Publisher(log, chat, owner=self.owner, links=self.links)

    def source(
        self, spec: str, branch: str | None = None, progress: FetchProgress | None = None
    ) -> CommitSource:
        """A local repository for a path, GitHub for `owner/name`."""
        return make_source(
            spec, self.settings, self.store, branch, gate=self.github_gate, progress=progress
        )

    def github(self, name: str) -> CommitSource:
        """GitHub's `owner/name` (a chat subscription), through the process's one request gate."""
        return github_source(name, self.settings, self.store, gate=self.github_gate)

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
    progress: FetchProgress | None = None,
) -> CommitSource:
    """Choose the source for a `--repo` value: an existing path wins over `owner/name`.

    `NAME=PATH` is a local repository shown and asked for under NAME. GitHub sources share
    `gate`, the process's one request budget (Core.github_gate); `progress` hears every fetch
    step and wait.
    """
    path = Path(spec).expanduser()
    limits = settings.budget.patch_limits
    name, target = (None, spec) if path.exists() else split_repo_spec(spec)
    if name is not None:
        return LocalGitSource(
            Path(target).expanduser(), branch, limits, name=name, progress=progress
        )
    if path.exists() or spec.startswith((".", "/", "~")) or not _GITHUB_NAME.match(spec):
        return LocalGitSource(path, branch, limits, progress=progress)
    return github_source(spec, settings, store, branch, gate=gate, progress=progress)


def github_source(
    name: str,
    settings: Settings,
    store: SqlStore,
    branch: str | None = None,
    *,
    gate: RequestGate | None = None,
    progress: FetchProgress | None = None,
) -> CommitSource:
    """GitHub's `owner/name`, whatever lies on disk under that path (chat subscriptions)."""
    # Imported here: PyGithub costs ~20 MiB of memory, which a local digest never needs.
    from bot.sources.github import GitHubSource

    limits = settings.budget.patch_limits
    token = settings.github.token.get_secret_value() if settings.github.token else None
    return GitHubSource(
        name,
        store,
        token=token,
        base_url=settings.github.api_url,
        branch=branch,
        limits=limits,
        gate=gate,
        progress=progress,
    )


@dataclass(frozen=True)
class AnalyzerChoice:
    """The analyzer, its model client and overviewer when a model is used, and a note."""

    analyzer: Analyzer
    client: OpenAIModelClient | None = None
    overviewer: LlmOverviewer | None = None
    note: str | None = None
    calls: ModelClient | None = None  # the client as the analyzers use it (perhaps limited)


def choose_analyzer(
    settings: Settings, mode: str, limit: ModelLimit | None = None
) -> AnalyzerChoice:
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
    calls = limit(client) if limit else client
    prompts = Prompts(load_prompt("triage"), load_prompt("analysis"))
    analyzer = LlmAnalyzer(
        calls, prompts, DiffBudget(settings.budget.tokens_per_commit), rules, settings.model.model
    )
    overviewer = LlmOverviewer(calls, load_prompt("overview"), rules)
    return AnalyzerChoice(analyzer, client, overviewer, calls=calls)


def model_limit(settings: Settings, sql: AsyncEngine, owner: str) -> ModelLimit | None:
    """With `[queue] model_slots`, every model call holds one of the fleet's slots."""
    slots = settings.queue.model_slots
    if slots is None:
        return None
    model = settings.model
    # Longer than a call can last (every attempt timing out), so only a dead holder's lapses.
    lease = timedelta(seconds=model.timeout_seconds * (model.max_retries + 1) + 30)
    shared = SharedSlots(SqlLeaseLocks(sql), "model", slots, lease=lease, process=owner)
    return lambda client: SlotLimitedModel(client, shared)


async def open_core(settings: Settings, analyzer_mode: str = "auto") -> Core:
    """Migrate the database and build the engine."""
    add_github_host(settings.github.api_url)  # `#N` links to pull requests on GHE too
    owner = process_owner()  # this process, in every lease and claim it takes
    sql = create_engine(settings.database_url)  # connects on first use, after migrating
    choice = choose_analyzer(settings, analyzer_mode, model_limit(settings, sql, owner))
    await migrate_async(settings.database_url)
    store = SqlStore(sql)
    # Builds of one (repository, day) run in one process at a time; the others reuse them.
    lease = WaitPolicy(lease=timedelta(seconds=settings.queue.lease_seconds))
    gate = BuildGate(SqlLeaseLocks(store.engine), process=owner, policy=lease)
    engine = SharedBuildEngine(
        choice.analyzer,
        store,
        CommitFilter(settings.filters),
        overviewer=choice.overviewer,
        gate=gate,
    )
    answerer: Answerer = StoredAnswerer()
    if choice.calls is not None:
        answerer = ModelAnswerer(
            choice.calls,
            load_prompt("followup"),
            load_prompt("explain"),
            DiffBudget(settings.budget.tokens_per_commit),
        )
    core = Core(
        settings,
        store,
        engine,
        choice.note,
        answerer,
        choice.client,
        owner=owner,
        github_gate=RequestGate(budget=github_budget(settings, store)),
    )
    core.signer = link_signer(settings)
    if settings.web.public_url:
        core.links = SignedReportLinks(settings.web.public_url, core.signer)
    return core


def github_budget(settings: Settings, store: SqlStore) -> SharedBudget | None:
    """With `[queue] github_per_minute`, one GitHub budget for every worker of the database."""
    per_minute = settings.queue.github_per_minute
    if per_minute is None:
        return None
    return SharedBudget(SqlTokenBuckets(store.engine), "github", per_minute)


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
