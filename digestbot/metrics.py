"""Prometheus metrics from bot.telemetry events, and the `/metrics` route (optional bearer token).

Labels are bounded by design: platform, outcome, kind, reason, command name. Chats, users,
repositories and keys stay in the log lines, so the exposition says how much, never who.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.telemetry import (
    BreakerOpened,
    CommandAnswered,
    Event,
    Fallback,
    MessageSent,
    ModelCall,
    PlatformChanged,
    PostFailed,
    PostFinished,
    RateLimited,
    Retry,
)

POST_OUTCOMES = ("posted", "completed", "already", "busy", "failed")
# Slack acks at once; the work behind a command takes from a second (recalled) to minutes.
COMMAND_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class PrometheusSink:
    """Counts telemetry events in its own registry (a process can hold several: tests)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._build(self.registry)

    def _build(self, r: CollectorRegistry) -> None:
        self.posts = Counter(
            "digestbot_posts", "Digest posts by outcome", ["platform", "outcome"], registry=r
        )
        self.messages = Counter(
            "digestbot_messages_sent", "Chat messages sent", ["platform"], registry=r
        )
        self.rate_limited = Counter(
            "digestbot_rate_limited", "429 answers from a chat platform", ["platform"], registry=r
        )
        self.model_calls = Counter(
            "digestbot_model_calls", "Model requests by outcome", ["outcome"], registry=r
        )
        self.prompt_tokens = Counter(
            "digestbot_model_prompt_tokens", "Prompt tokens the model counted", registry=r
        )
        self.completion_tokens = Counter(
            "digestbot_model_completion_tokens", "Completion tokens the model counted", registry=r
        )
        self.fallbacks = Counter(
            "digestbot_model_fallbacks",
            "Entries or answers the rules wrote because the model failed",
            ["kind", "reason"],
            registry=r,
        )
        self.breaker = Counter(
            "digestbot_model_breaker_opened", "Times the model's breaker stopped calls", registry=r
        )
        self.retries = Counter("digestbot_retries", "Retries by kind", ["kind"], registry=r)
        self.commands = Histogram(
            "digestbot_command_seconds",
            "Time from a command's arrival to its answer",
            ["platform", "command", "outcome"],
            buckets=COMMAND_BUCKETS,
            registry=r,
        )
        self.up = Gauge(
            "digestbot_platform_up", "1 while the platform runs", ["platform"], registry=r
        )
        self.degraded = Gauge(
            "digestbot_platform_degraded",
            "1 while the platform is degraded",
            ["platform"],
            registry=r,
        )
        ProcessCollector(registry=r)

    def known_platforms(self, names: Iterable[str]) -> None:
        """Create every platform's series at zero, so a rate() works before the first post."""
        for name in names:
            for outcome in POST_OUTCOMES:
                self.posts.labels(name, outcome)
            self.messages.labels(name)
            self.rate_limited.labels(name)
            self.up.labels(name).set(0)
            self.degraded.labels(name).set(0)

    def record(self, event: Event) -> None:
        """Count one event (unknown kinds are only logged)."""
        match event:
            case PostFinished() | PostFailed():
                self.posts.labels(event.post.platform, event.outcome).inc()
            case MessageSent():
                self.messages.labels(event.platform).inc()
            case RateLimited():
                self.rate_limited.labels(event.platform).inc()
            case ModelCall():
                self._model_call(event)
            case Fallback():
                self.fallbacks.labels(event.kind, event.reason).inc()
            case BreakerOpened():
                self.breaker.inc()
            case Retry():
                self.retries.labels(event.kind).inc()
            case CommandAnswered() if event.outcome != "ignored":
                labels = (event.platform, event.command, event.outcome)
                self.commands.labels(*labels).observe(event.seconds)
            case PlatformChanged():
                self.up.labels(event.platform).set(1 if event.state == "ok" else 0)
                self.degraded.labels(event.platform).set(1 if event.state == "degraded" else 0)

    def _model_call(self, event: ModelCall) -> None:
        self.model_calls.labels(event.outcome).inc()
        self.prompt_tokens.inc(event.prompt_tokens)
        self.completion_tokens.inc(event.completion_tokens)

    def exposition(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


def metrics_route(sink: PrometheusSink, token: str | None) -> Route:
    """GET /metrics; with a token, only for `Authorization: Bearer <token>`."""
    expected = f"Bearer {token}".encode() if token else None

    async def endpoint(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                challenge = {"WWW-Authenticate": 'Bearer realm="metrics"'}
                return PlainTextResponse("unauthorized", status_code=401, headers=challenge)
        return Response(sink.exposition(), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", endpoint, methods=["GET"])
