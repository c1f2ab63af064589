"""Logging for every process: one stderr handler, plain or JSON, with every secret redacted.

The redacting filter sits on the root logger's handlers, so third-party loggers (httpx, PTB,
Bolt, uvicorn's access log) are covered too; it rewrites the message and pre-formats any
traceback, so every handler (even one added later with the filter) prints the redacted text.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import types
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.errors import ConfigError

REDACTED = "[redacted]"
LOG_FORMATS = ("plain", "json")
# httpx logs every request URL at INFO, and Telegram's URLs hold the bot token.
QUIET_LOGGERS = ("httpx", "httpcore", "urllib3", "hpack", "websockets", "slack_sdk.web")
MIN_SECRET_CHARS = 4  # shorter values would blank ordinary words; no real secret is this short
# Credentials that have a recognisable shape, configured or not (a token from a response).
_QUERY_CREDENTIAL = r"([?&](?:sig|isig|ticket|token|access_token|api_key|key|password)=)[^&\s\"'#]+"
_SHAPES = (
    (re.compile(_QUERY_CREDENTIAL), r"\1" + REDACTED),  # signed links, Socket Mode tickets
    (re.compile(r"(://[^/\s:@]*:)[^/\s@]+@"), r"\1" + REDACTED + "@"),  # URL passwords
    (re.compile(r"(?<![0-9])[0-9]{5,}:[A-Za-z0-9_-]{30,}"), REDACTED),  # Telegram bot tokens
    (re.compile(r"\bx(?:ox[a-z]|app)-[A-Za-z0-9-]{8,}"), REDACTED),  # Slack tokens
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), REDACTED),  # OpenAI keys
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,})"), REDACTED),  # GitHub
    (re.compile(r"(?i)(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + REDACTED),
)
_HANDLER = "digestbot"
_PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's copy of the message with terminal colours
}


class Redactor:
    """Replaces every configured secret, and every credential-shaped string, by REDACTED."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms = {v for s in secrets for v in (s, quote(s, safe=""))}  # as is, and in a URL
        variants = {v for v in forms if len(v) >= MIN_SECRET_CHARS}
        ordered = sorted(variants, key=len, reverse=True)  # the whole token before its parts
        self._literal = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        """`text` with nothing secret left in it."""
        if self._literal is not None:
            text = self._literal.sub(REDACTED, text)
        for pattern, replacement in _SHAPES:
            text = pattern.sub(replacement, text)
        return text


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value the settings hold, in each form it can appear in."""
    values: list[SecretStr | None] = [
        settings.model.api_key,
        settings.github.token,
        settings.slack.bot_token,
        settings.slack.signing_secret,
        settings.slack.app_token,
        settings.telegram.bot_token,
        settings.telegram.webhook_secret,
        settings.web.link_secret,
        settings.web.metrics_token,
    ]
    found = [v.get_secret_value() for v in values if v is not None]
    if settings.telegram.bot_token is not None:  # `<id>:<secret>`: PTB errors show the secret part
        found.append(settings.telegram.bot_token.get_secret_value().partition(":")[2])
    try:
        password = make_url(settings.database_url).password
    except Exception:  # an unparsable URL is refused later, with its own error
        password = None
    if password:
        found.append(str(password))
    return [s for s in found if s]


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, traceback and stack with secrets removed."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        """Always True: the record is kept, redacted."""
        record.msg, record.args = self.redact(_message_of(record)), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in _extras(record).items():
            if isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


def _message_of(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except (TypeError, ValueError):  # a bad %-format: keep what was given, still redacted
        return f"{record.msg!s} {record.args!r}"


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class PlainFormatter(logging.Formatter):
    """The usual one-line format; the final text is redacted once more (belt and braces)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__(_PLAIN)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        """One line (plus a redacted traceback when there is one)."""
        return self.redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, any `extra=` ids, exception."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        for key, value in _extras(record).items():
            line[key] = self.redact(value) if isinstance(value, str) else value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = self.redact(record.exc_text)
        return json.dumps(line, default=lambda o: self.redact(str(o)), ensure_ascii=False)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the current sys.stderr (a test's capture replaces it), like logging's own."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(
    settings: Settings,
    env: Mapping[str, str],
    *,
    level: int = logging.INFO,
    stream: TextIO | None = None,
) -> Redactor:
    """Install the one handler on the root logger (idempotent) and redact on every handler."""
    chosen = env.get("LOG_FORMAT", "plain") or "plain"
    if chosen not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT is {chosen!r}: use plain or json")
    redact = Redactor(secrets_of(settings))
    formatter = JsonFormatter(redact) if chosen == "json" else PlainFormatter(redact)
    root = logging.getLogger()
    _install(root, formatter, stream)
    root.setLevel(level)
    for each in root.handlers:
        for old_filter in [f for f in each.filters if isinstance(f, RedactingFilter)]:
            each.removeFilter(old_filter)
        each.addFilter(RedactingFilter(redact))
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    sys.excepthook = _redacting_hook(redact)
    return redact


def _install(root: logging.Logger, formatter: logging.Formatter, stream: TextIO | None) -> None:
    for old in [h for h in root.handlers if h.get_name() == _HANDLER]:
        root.removeHandler(old)  # configured again (tests, `main` called twice): still one
    handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.set_name(_HANDLER)
    handler.setFormatter(formatter)
    root.addHandler(handler)


def _redacting_hook(redact: Redactor) -> Any:
    def hook(
        kind: type[BaseException], error: BaseException, tb: types.TracebackType | None
    ) -> None:
        # An error that escapes everything: still one redacted traceback, never a token.
        text = logging.Formatter().formatException((kind, error, tb))
        sys.stderr.write(redact(text) + "\n")

    return hook
