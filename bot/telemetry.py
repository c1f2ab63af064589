"""Operational events: one event is one log line (bot.log_messages) and one metric (a sink).

The core emits neutral events; the composition root installs a sink (digestbot.metrics, with
prometheus-client), so `bot/` never imports a metrics library. Without a sink, events are
only logged. Labels a sink may use are bounded (platform, outcome, kind, reason): ids such
as chats, users and keys go to the log line only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from bot import log_messages as say

_log = logging.getLogger("digestbot.events")


@dataclass(frozen=True)
class Event:
    """An operational event: its level, its line, and the ids that go with it."""

    LEVEL: ClassVar[int] = logging.INFO

    def level(self) -> int:
        """The log line's level."""
        return self.LEVEL

    def message(self) -> str:
        """The log line's text."""
        raise NotImplementedError

    def ids(self) -> dict[str, object]:
        """The `extra=` fields of the log line (LOG_FORMAT=json prints them)."""
        found: dict[str, object] = {}
        for key, value in vars(self).items():
            if isinstance(value, PostIds):
                found |= value.fields()
            elif value not in ("", None):
                found[key] = value
        return found


@dataclass(frozen=True)
class CommandReceived(Event):
    """A `/digest …` command arrived."""

    platform: str
    chat: str
    user: str
    event_id: str
    command: str
    text: str

    def message(self) -> str:
        return say.command_received(self.platform, self.chat, self.user, self.event_id, self.text)


@dataclass(frozen=True)
class PressReceived(CommandReceived):
    """A button on one of our analyses was pressed (`text` says which, on which commit)."""

    def message(self) -> str:
        return say.press_received(self.platform, self.chat, self.user, self.event_id, self.text)


@dataclass(frozen=True)
class CommandAnswered(Event):
    """A command or follow-up was handled: `outcome` is answered, ignored or failed."""

    platform: str
    chat: str
    user: str
    event_id: str
    command: str
    seconds: float
    outcome: str

    def level(self) -> int:
        # Slack sends every thread reply in a channel; those in threads not ours are noise.
        return logging.DEBUG if self.outcome == "ignored" else logging.INFO

    def message(self) -> str:
        return say.command_answered(
            self.platform,
            self.chat,
            self.event_id,
            command=self.command,
            seconds=self.seconds,
            outcome=self.outcome,
        )


@dataclass(frozen=True)
class PostIds:
    """Which post: its key, where it goes, its repository and day."""

    post_key: str
    platform: str
    chat: str
    repo: str = ""
    day: str = ""

    def fields(self) -> dict[str, object]:
        """The ids as log fields; the key's origin names the subscription or the command."""
        origin = self.post_key.split(":", 1)[0]
        found = {k: v for k, v in vars(self).items() if v}
        if origin.startswith("daily-"):
            found["subscription"] = origin.removeprefix("daily-")
        elif origin.startswith("command-"):
            found["event_id"] = origin.removeprefix("command-")
        return found


@dataclass(frozen=True)
class PostClaimed(Event):
    """This process took a post (`state` new or resumed) and starts sending."""

    post: PostIds
    state: str
    known: int = 0

    def message(self) -> str:
        return say.post_claimed(self.post.post_key, self.state, self.known)


@dataclass(frozen=True)
class PostFinished(Event):
    """How a post ended: posted, completed, already, busy (failures are PostFailed)."""

    post: PostIds
    outcome: str
    sent: int = 0
    total: int = 0
    seconds: float = 0.0

    def message(self) -> str:
        key = self.post.post_key
        return say.post_finished(key, self.outcome, self.sent, self.total, self.seconds)


@dataclass(frozen=True)
class PostFailed(Event):
    """A post stopped part-way (outcome `failed`); a retry resumes it.

    INFO: whoever started the post says so (the clock retries it, `post` prints one line).
    """

    post: PostIds
    done: int
    total: int
    reason: str
    outcome: str = "failed"

    def message(self) -> str:
        return say.post_failed(self.post.post_key, self.done, self.total, self.reason)


_LEFT_ALONE = {"done": "already", "busy": "busy"}


def claim_event(post: PostIds, state: str, known: int) -> Event:
    """What claiming a post found: claimed (new), resumed, or left alone (already, busy)."""
    if state in _LEFT_ALONE:
        return PostFinished(post, _LEFT_ALONE[state])
    return PostClaimed(post, state, known)


@dataclass(frozen=True)
class MessageSent(Event):
    """One chat message went out."""

    LEVEL: ClassVar[int] = logging.DEBUG
    platform: str
    chat: str
    marker: str = ""

    def message(self) -> str:
        return say.message_sent(self.platform, self.chat, self.marker)


@dataclass(frozen=True)
class RateLimited(Event):
    """A platform answered 429 for a chat."""

    platform: str
    chat: str
    attempt: int
    wait: float
    slowdown: int

    def message(self) -> str:
        return say.rate_limited(self.platform, self.chat, self.attempt, self.wait, self.slowdown)


@dataclass(frozen=True)
class Retry(Event):
    """Something failed and is tried again: `kind` is clock, github or model."""

    kind: str
    what: str
    attempt: int
    wait: float
    reason: str
    context: Mapping[str, object] = field(default_factory=dict)

    def message(self) -> str:
        return say.retrying(self.what, self.attempt, self.wait, self.reason)

    def ids(self) -> dict[str, object]:
        base = {"kind": self.kind, "attempt": self.attempt, "wait": self.wait}
        return {**base, "reason": self.reason, **self.context}


@dataclass(frozen=True)
class ModelCall(Event):
    """One model request: `outcome` is ok or a failure code; what it cost."""

    LEVEL: ClassVar[int] = logging.DEBUG
    model: str
    outcome: str
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def message(self) -> str:
        return say.model_call(self.model, self.outcome, self.prompt_tokens, self.completion_tokens)


@dataclass(frozen=True)
class Fallback(Event):
    """The offline rules (or a stored analysis) stood in for the model."""

    kind: str  # analysis, overview, follow-up (answers and explanations)
    reason: str  # a bot.i18n.FALLBACK_REASONS code
    repo: str = ""
    sha: str = ""

    def message(self) -> str:
        return say.fallback(self.kind, self.reason, self.repo, self.sha)


@dataclass(frozen=True)
class BreakerOpened(Event):
    """The model kept failing to connect or answer: calls stop for the cool-down.

    INFO: a `digest` run says it in its closing line; the roles log every event at INFO.
    """

    model: str
    reason: str

    def message(self) -> str:
        return say.breaker_opened(self.model, self.reason)


@dataclass(frozen=True)
class PlatformChanged(Event):
    """A chat platform's state: starting, ok or degraded (with a secret-free reason)."""

    platform: str
    state: str
    reason: str = ""
    attempt: int = 0
    wait: float | None = None
    recovered: bool = False

    def level(self) -> int:
        return logging.WARNING if self.state == "degraded" else logging.INFO

    def message(self) -> str:
        if self.state == "starting":
            return say.platform_starting(self.platform)
        if self.state == "ok":
            return say.platform_up(self.platform, self.attempt, self.recovered)
        return say.platform_degraded(self.platform, self.reason, self.attempt, self.wait)


class Sink(Protocol):
    """Where events go besides the log (the metrics registry)."""

    def record(self, event: Event) -> None:
        """Count or measure the event; must not raise."""
        ...


_sinks: list[Sink] = []


def install(sink: Sink) -> Callable[[], None]:
    """Send every event to `sink` too; returns the function that removes it again."""
    _sinks.append(sink)
    return lambda: _sinks.remove(sink) if sink in _sinks else None


def emit(event: Event, log: logging.Logger = _log) -> None:
    """Log the event's line with its ids, and hand it to every sink."""
    level = event.level()
    if log.isEnabledFor(level):
        log.log(level, event.message(), extra=event.ids())
    for sink in tuple(_sinks):
        try:
            sink.record(event)
        except Exception:  # a metrics bug must never stop a post or a command
            _log.debug("telemetry sink %r failed", sink, exc_info=True)
