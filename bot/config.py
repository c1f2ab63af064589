"""Settings validated with pydantic: a TOML file for behaviour, the environment for secrets."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from bot.errors import ConfigError
from bot.sources.patch_limits import (
    DEFAULT_COMMIT_PATCH_BYTES,
    DEFAULT_FILE_PATCH_BYTES,
    PatchLimits,
)

DEFAULT_DATABASE_URL = "sqlite:///digestbot.sqlite3"


class StrictModel(BaseModel):
    """Frozen, and unknown keys are errors (a typo in a config file must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RulesConfig(StrictModel):
    """Weights and thresholds of the offline severity rules (see the reference README)."""

    type_weights: dict[str, int] = Field(
        default_factory=lambda: {
            "feat": 8,
            "fix": 7,
            "perf": 6,
            "refactor": 5,
            "test": 3,
            "docs": 2,
            "ci": 2,
            "chore": 1,
            "style": 1,
            "build": 1,
            "revert": 5,
        }
    )
    no_prefix_weight: int = 3
    # (more than N lines changed, weight), checked from the largest N down.
    line_steps: list[tuple[int, int]] = Field(default_factory=lambda: [(500, 3), (100, 2), (50, 1)])
    kind_weights: dict[str, int] = Field(
        default_factory=lambda: {
            "code": 2,
            "config": 1,
            "test": 1,
            "docs": 0,
            "other": 0,
        }
    )
    # (more than N files changed, weight): > 5 → 2, 3–5 → 1.
    file_steps: list[tuple[int, int]] = Field(default_factory=lambda: [(5, 2), (2, 1)])
    high: int = 10
    medium: int = 6


class BudgetConfig(StrictModel):
    """How many estimated tokens of diff a model sees per commit, and how much patch is kept."""

    tokens_per_commit: int = Field(default=6000, ge=200)
    # Patch text a source keeps (UTF-8 bytes): a bigger diff keeps its leading lines and is
    # marked clipped; its line counts stay whole. Bounds memory and storage for huge diffs.
    max_file_patch_bytes: int = Field(default=DEFAULT_FILE_PATCH_BYTES, ge=1024)
    max_commit_patch_bytes: int = Field(default=DEFAULT_COMMIT_PATCH_BYTES, ge=1024)

    @property
    def patch_limits(self) -> PatchLimits:
        """The caps as the sources take them."""
        return PatchLimits(self.max_file_patch_bytes, self.max_commit_patch_bytes)


class FilterConfig(StrictModel):
    """Which commits a digest leaves out."""

    skip_merges: bool = False
    exclude_authors: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()


class ModelConfig(StrictModel):
    """The OpenAI-compatible model; the key comes from the environment only."""

    api_key: SecretStr | None = None
    base_url: str | None = None
    model: str = "gpt-4o-mini"
    timeout_seconds: float = Field(default=60.0, gt=0)
    # The most calls in flight; halved on a 429 and grown back by one per window (AIMD).
    concurrency: int = Field(default=16, ge=1, le=256)
    max_retries: int = Field(default=3, ge=0, le=10)
    response_format: str = Field(default="json_schema", pattern="^(json_schema|json_object)$")
    # "auto": max_completion_tokens and no temperature for reasoning models (o1, o3, o4,
    # gpt-5 …), max_tokens otherwise; a 400 naming the parameter switches it for the run.
    token_parameter: str = Field(
        default="auto", pattern="^(auto|max_tokens|max_completion_tokens)$"
    )
    # Extra completion room a reasoning model may spend thinking before it answers.
    reasoning_tokens: int = Field(default=2000, ge=0)
    # Circuit breaker: this many connection failures or time-outs in a row stop the calls
    # for breaker_cooldown_seconds; every entry meanwhile falls back to the rules.
    breaker_failures: int = Field(default=3, ge=1, le=100)
    breaker_cooldown_seconds: float = Field(default=120.0, gt=0)
    prompt_price_per_million: float | None = None
    completion_price_per_million: float | None = None

    @property
    def configured(self) -> bool:
        """True when a key is set, so the model can be used."""
        return self.api_key is not None and bool(self.api_key.get_secret_value())


class GitHubConfig(StrictModel):
    """PyGithub access; both optional (public repositories work without a token)."""

    token: SecretStr | None = None
    api_url: str = "https://api.github.com"
    max_rate_limit_wait_seconds: float = 90.0


class SlackConfig(StrictModel):
    """Slack credentials and endpoint; set in the environment only."""

    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    api_url: str = "https://slack.com/api/"

    @property
    def configured(self) -> bool:
        """True when a bot token is set."""
        return self.bot_token is not None


class TelegramConfig(StrictModel):
    """Telegram credentials and endpoint; the webhook secret guards our endpoint."""

    bot_token: SecretStr | None = None
    api_url: str = "https://api.telegram.org/bot"
    webhook_secret: SecretStr | None = None
    webhook_url: str | None = None

    @model_validator(mode="after")
    def _secret_with_webhook(self) -> TelegramConfig:
        # Without the secret our endpoint would accept forged updates, so it is not served.
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET")
        return self

    @property
    def configured(self) -> bool:
        """True when a bot token is set."""
        return self.bot_token is not None


class WebConfig(StrictModel):
    """The web process: where report pages are published and the key that signs their links."""

    public_url: str | None = None
    link_secret: SecretStr | None = None  # DIGEST_LINK_SECRET only, at least 32 bytes
    metrics_token: SecretStr | None = None  # METRICS_TOKEN only: the bearer token of /metrics
    link_days: int = Field(default=30, ge=1, le=3650)
    # What a chat post's link opens: its page only, or also the repository's index of days.
    link_scope: Literal["page", "repo"] = "page"
    # Repositories whose pages need no signature (wildcards); every other one is private.
    public_repos: tuple[str, ...] = ()


class TeamConfig(StrictModel):
    """Team self-service: who may change a Slack channel's subscriptions; how fast changes apply."""

    # Slack user (U…, W…) and user-group (S…) ids; empty: any member of the channel may.
    slack_managers: tuple[str, ...] = ()
    # How often the clock looks for subscriptions changed in chat by another process.
    poll_seconds: float = Field(default=10.0, ge=1.0, le=3600.0)


class QueueConfig(StrictModel):
    """The task queue for many machines (procrastinate on PostgreSQL); off by default."""

    backend: str = Field(default="none", pattern="^(none|postgres)$")
    concurrency: int = Field(default=4, ge=1, le=64)  # jobs one worker runs at once
    heartbeat_seconds: float = Field(default=10.0, gt=0)
    stalled_seconds: float = Field(default=30.0, gt=0)  # a silent worker's jobs are retried
    lease_seconds: float = Field(default=60.0, gt=0)  # a silent builder's lease lapses
    model_slots: int | None = Field(default=None, ge=1)  # model calls in flight, all workers
    github_per_minute: int | None = Field(default=None, ge=1)  # GitHub requests, all workers

    @property
    def enabled(self) -> bool:
        """True when firings go to the queue instead of running in the clock's process."""
        return self.backend != "none"


class Settings(StrictModel):
    """Everything the core needs, loaded once and passed down."""

    database_url: str = DEFAULT_DATABASE_URL
    rules: RulesConfig = Field(default_factory=RulesConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    filters: FilterConfig = Field(default_factory=FilterConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    github: GitHubConfig = Field(default_factory=GitHubConfig)
    slack: SlackConfig = Field(default_factory=SlackConfig)
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    team: TeamConfig = Field(default_factory=TeamConfig)
    queue: QueueConfig = Field(default_factory=QueueConfig)


_ENV_KEYS = {
    "DATABASE_URL": ("database_url",),
    "OPENAI_API_KEY": ("model", "api_key"),
    "OPENAI_BASE_URL": ("model", "base_url"),
    "DIGESTBOT_MODEL": ("model", "model"),
    "GITHUB_TOKEN": ("github", "token"),
    "GITHUB_API_URL": ("github", "api_url"),
    "SLACK_BOT_TOKEN": ("slack", "bot_token"),
    "SLACK_SIGNING_SECRET": ("slack", "signing_secret"),
    "SLACK_APP_TOKEN": ("slack", "app_token"),
    "SLACK_API_URL": ("slack", "api_url"),
    "TELEGRAM_BOT_TOKEN": ("telegram", "bot_token"),
    "TELEGRAM_API_URL": ("telegram", "api_url"),
    "TELEGRAM_WEBHOOK_SECRET": ("telegram", "webhook_secret"),
    "TELEGRAM_WEBHOOK_URL": ("telegram", "webhook_url"),
    "DIGEST_PUBLIC_URL": ("web", "public_url"),
    "DIGEST_LINK_SECRET": ("web", "link_secret"),
    "DIGESTBOT_QUEUE": ("queue", "backend"),
    "METRICS_TOKEN": ("web", "metrics_token"),
}


# Secrets come from the environment only: a file gets copied, committed and pasted.
_SECRET_VARS = (
    "OPENAI_API_KEY",
    "GITHUB_TOKEN",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "DIGEST_LINK_SECRET",
    "METRICS_TOKEN",
)
MIN_LINK_SECRET_BYTES = 32


def load_settings(env: Mapping[str, str], path: Path | None = None) -> Settings:
    """Merge a TOML file (behaviour) with the environment (secrets and endpoints)."""
    raw: dict[str, object] = read_toml(path)[1] if path else {}
    raw.pop("subscription", None)  # read by bot.subscriptions, with line numbers
    if path is not None:
        _refuse_secrets_in(raw, path)
    _check_link_secret(env)
    for var, keys in _ENV_KEYS.items():
        value = env.get(var)
        if value:
            _set_nested(raw, keys, value)
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None


def _refuse_secrets_in(raw: dict[str, object], path: Path) -> None:
    for var in _SECRET_VARS:
        table, key = _ENV_KEYS[var]
        section = raw.get(table)
        if isinstance(section, dict) and key in section:
            raise ConfigError(
                f"{path}: [{table}] {key} is a secret: remove it from the file and set {var} "
                "in the environment"
            )


def _check_link_secret(env: Mapping[str, str]) -> None:
    secret = env.get("DIGEST_LINK_SECRET")
    if secret and len(secret.encode()) < MIN_LINK_SECRET_BYTES:
        raise ConfigError(
            f"DIGEST_LINK_SECRET is {len(secret.encode())} bytes; it needs at least "
            f"{MIN_LINK_SECRET_BYTES} (e.g. python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')"
        )


def read_toml(path: Path) -> tuple[str, dict[str, object]]:
    """A config file's text (for line numbers) and its tables; errors name the file."""
    try:
        source = path.read_text(encoding="utf-8")
        return source, tomllib.loads(source)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _set_nested(raw: dict[str, object], keys: tuple[str, ...], value: str) -> None:
    node = raw
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{key} must be a table")
        node = child
    node[keys[-1]] = value


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f"{path}: " if path else ""
    lines = [f"{where}{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
    return "invalid configuration:\n  " + "\n  ".join(lines)
