"""The OpenAI-compatible client: JSON and text calls, adaptive concurrency, retries, a breaker."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from typing import Any

import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from bot import log_messages as say
from bot.config import ModelConfig
from bot.errors import ModelCallError
from bot.llm.limiter import AdaptiveLimit, CircuitBreaker, Slot
from bot.models import Usage
from bot.ports import ModelReply
from bot.telemetry import BreakerOpened, ModelCall, Retry, emit

_log = logging.getLogger(__name__)
# Reasoning models reject max_tokens and any temperature but the default.
_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)", re.IGNORECASE)
_TEMPERATURE = 0.2
_MAX_WAIT_SECONDS = 60.0
# Parameter switches a run may make on 400s (token parameter, temperature, format).
_ADAPTATIONS = 3
_TOKEN_PARAMETERS = {
    "max_tokens": "max_completion_tokens",
    "max_completion_tokens": "max_tokens",
}


class OpenAIModelClient:
    """AsyncOpenAI against any compatible endpoint; retries, AIMD and the breaker are ours."""

    def __init__(self, config: ModelConfig) -> None:
        self._config = config
        self.model = config.model
        self.limit = AdaptiveLimit(config.concurrency)
        self.breaker = CircuitBreaker(config.breaker_failures, config.breaker_cooldown_seconds)
        self._mode = config.response_format
        reasoning = config.token_parameter == "max_completion_tokens" or (
            config.token_parameter == "auto" and bool(_REASONING_MODEL.match(config.model))
        )
        self._token_parameter = "max_completion_tokens" if reasoning else "max_tokens"
        self._temperature: float | None = None if reasoning else _TEMPERATURE
        # Built now, not at the first call: loading the CA bundle takes about 0.4 s of CPU,
        # which belongs to start-up, not to the first digest's critical path.
        key = config.api_key.get_secret_value() if config.api_key else ""
        # The SDK's own default is 600 s per request: far too long for a morning digest.
        # Its retries are off: ours see each 429 (for AIMD) and each failure (the breaker).
        self._client = AsyncOpenAI(
            api_key=key,
            base_url=config.base_url,
            timeout=config.timeout_seconds,
            max_retries=0,
        )

    @property
    def unreachable(self) -> bool:
        """True while the breaker refuses calls: the endpoint kept failing to connect or answer."""
        return self.breaker.is_open

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    async def json_call(
        self, system: str, user: str, name: str, schema: dict[str, Any], max_tokens: int
    ) -> ModelReply:
        """Ask for JSON: a strict json_schema where supported, json_object otherwise."""
        if self._mode == "json_schema":
            fmt: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema, "strict": True},
            }
            try:
                return await self._call(system, user, max_tokens, fmt)
            except ModelCallError as exc:
                refused = str(exc)
                if exc.code != "bad_request" or not (
                    "response_format" in refused or "json_schema" in refused
                ):
                    raise
                # A provider without json_schema: use json_object for the rest of the run.
                _log.info(say.model_adapted(self.model, "json_schema"), extra={"model": self.model})
                self._mode = "json_object"
        system += f"\n\nThe JSON schema ({name}):\n{json.dumps(schema)}"
        return await self._call(system, user, max_tokens, {"type": "json_object"})

    async def text_call(self, system: str, user: str, max_tokens: int) -> ModelReply:
        """Ask for plain text."""
        return await self._call(system, user, max_tokens, None)

    async def _call(
        self, system: str, user: str, max_tokens: int, fmt: dict[str, Any] | None
    ) -> ModelReply:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        attempt = adaptations = 0
        while True:
            if not self.breaker.allow():
                raise ModelCallError("circuit_open", "model unreachable: calls stopped")
            try:
                return await self._once(messages, max_tokens, fmt)
            except openai.BadRequestError as exc:
                emit(ModelCall(self.model, "bad_request"), _log)
                if adaptations >= _ADAPTATIONS or not self._adapt(exc):
                    raise ModelCallError("bad_request", _bad_request(exc)) from None
                adaptations += 1
                continue
            except openai.APIError as exc:
                code = self._failure(exc)
                emit(ModelCall(self.model, code), _log)
                if attempt >= self._retries(code):
                    raise ModelCallError(code, _describe(exc)) from None
                attempt += 1
                wait = _retry_after(exc) or min(_MAX_WAIT_SECONDS, 0.5 * 2 ** (attempt - 1))
            wait *= random.uniform(1.0, 1.2)
            what, ids = f"model {self.model}", {"model": self.model}
            emit(Retry("model", what, attempt, wait, code, ids), _log)
            await asyncio.sleep(wait)

    def _retries(self, code: str) -> int:
        if code == "timeout":
            # A call that outlived timeout_seconds is not asked again: a hanging endpoint
            # then costs one time-out per entry at most, and the breaker stops the rest.
            return 0
        if code == "unreachable":
            # A refused or reset connection fails fast: one retry rides out a blip.
            return 0 if self.breaker.is_open else min(1, self._config.max_retries)
        if code == "rate_limited":
            # AIMD needs up to log2(limit) halvings to meet a strict provider's limit.
            return self._config.max_retries + self.limit.ceiling.bit_length()
        if code in ("server_error", "malformed_response"):
            return self._config.max_retries
        return 0

    def _failure(self, exc: openai.APIError) -> str:
        code = _code(exc)
        if code in ("timeout", "unreachable"):
            if self.breaker.failure():
                emit(BreakerOpened(self.model, code), _log)
        elif isinstance(exc, openai.APIStatusError):
            self.breaker.success()  # the endpoint answered: it is reachable
        return code

    async def _once(
        self,
        messages: list[ChatCompletionMessageParam],
        max_tokens: int,
        fmt: dict[str, Any] | None,
    ) -> ModelReply:
        async with self.limit.slot() as slot:
            if not self.breaker.allow():
                # The breaker opened while this call waited for a slot.
                raise ModelCallError("circuit_open", "model unreachable: calls stopped")
            response = await self._request(slot, messages, max_tokens, fmt)
        self.breaker.success()
        if not response.choices:
            raise ModelCallError("malformed_response", "the model returned no choices")
        choice = response.choices[0]
        usage = response.usage
        tokens = (usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0)
        emit(ModelCall(self.model, "ok", *tokens), _log)
        return ModelReply(
            content=choice.message.content or "",
            finish_reason=choice.finish_reason or "stop",
            usage=Usage(
                usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0, 1
            ),
        )

    async def _request(
        self,
        slot: Slot,
        messages: list[ChatCompletionMessageParam],
        max_tokens: int,
        fmt: dict[str, Any] | None,
    ) -> Any:
        room = max_tokens
        if self._token_parameter == "max_completion_tokens":
            room += self._config.reasoning_tokens
        extra: dict[str, Any] = {self._token_parameter: room}
        if self._temperature is not None:
            extra["temperature"] = self._temperature
        if fmt:
            extra["response_format"] = fmt
        try:
            response = await self._client.chat.completions.create(
                model=self.model, messages=messages, **extra
            )
        except openai.RateLimitError:
            slot.outcome = "rate_limited"
            raise
        slot.outcome = "ok"
        return response

    def _adapt(self, exc: openai.BadRequestError) -> bool:
        """Stop sending a parameter the model refused, for the rest of the run; False if none."""
        refused = _refused_parameter(exc)
        if refused == "temperature":
            self._temperature = None
        elif refused in _TOKEN_PARAMETERS:
            # Only switch what we still send: a call made before another one switched it
            # brings the same 400, and the retry goes out with the current setting.
            if self._token_parameter == refused:
                self._token_parameter = _TOKEN_PARAMETERS[refused]
        else:
            return False
        _log.info(say.model_adapted(self.model, refused), extra={"model": self.model})
        return True


def _refused_parameter(exc: openai.BadRequestError) -> str | None:
    """The parameter a 400 names: its `param` field, else the first one its message quotes."""
    known = ("temperature", *_TOKEN_PARAMETERS)
    body = exc.body
    error = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("param") in known:
        return str(error["param"])
    text = _bad_request(exc)
    found = [(text.find(f"'{name}'"), name) for name in known if f"'{name}'" in text]
    return min(found)[1] if found else None


def _bad_request(exc: openai.BadRequestError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            param = error.get("param")
            message = str(error.get("message", ""))
            return f"{message} (param: {param})" if param else message
    return str(exc)


def _retry_after(exc: Exception) -> float | None:
    """Seconds the server asked us to wait (retry-after-ms or retry-after), capped."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return min(_MAX_WAIT_SECONDS, max(0.0, float(value) * scale))
        except ValueError:
            continue  # an HTTP date: fall back to our own backoff
    return None


def _code(exc: openai.APIError) -> str:
    checks: tuple[tuple[type[openai.APIError], str], ...] = (
        (openai.APITimeoutError, "timeout"),
        (openai.APIConnectionError, "unreachable"),
        (openai.AuthenticationError, "auth"),
        (openai.PermissionDeniedError, "auth"),
        (openai.RateLimitError, "rate_limited"),
        (openai.InternalServerError, "server_error"),
        (openai.APIResponseValidationError, "malformed_response"),
    )
    for kind, code in checks:
        if isinstance(exc, kind):
            return code
    if isinstance(exc, openai.APIStatusError) and exc.status_code < 500:
        return "bad_request"  # 404 (no such model), 422 …: asking again will not help
    return "server_error"


def _describe(exc: openai.APIError) -> str:
    if isinstance(exc, openai.APITimeoutError):
        return "timed out"
    if isinstance(exc, openai.APIConnectionError):
        return "could not connect"
    if isinstance(exc, openai.AuthenticationError):
        return "the key was refused (401)"
    if isinstance(exc, openai.RateLimitError):
        return "rate limited (429)"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    return type(exc).__name__
