"""The OpenAI-compatible client: one JSON call and one text call, bounded and time-limited."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
from openai import AsyncOpenAI

from bot.config import ModelConfig
from bot.errors import ModelError
from bot.models import Usage
from bot.ports import ModelReply


class OpenAIModelClient:
    """AsyncOpenAI against any compatible endpoint; 429 and 5xx are retried by the SDK."""

    def __init__(self, config: ModelConfig) -> None:
        self._config = config
        self.model = config.model
        self._gate = asyncio.Semaphore(config.concurrency)
        self._mode = config.response_format
        self._client: AsyncOpenAI | None = None

    def _sdk(self) -> AsyncOpenAI:
        if self._client is None:
            key = self._config.api_key.get_secret_value() if self._config.api_key else None
            # The SDK's own default is 600 s per request: far too long for a morning digest.
            self._client = AsyncOpenAI(
                api_key=key,
                base_url=self._config.base_url,
                timeout=self._config.timeout_seconds,
                max_retries=self._config.max_retries,
            )
        return self._client

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._client is not None:
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
            except openai.BadRequestError as exc:
                if "response_format" not in str(exc) and "json_schema" not in str(exc):
                    raise ModelError(f"the model refused the request (400): {exc}") from None
                # A provider without json_schema: use json_object for the rest of the run.
                self._mode = "json_object"
        system += f"\n\nThe JSON schema ({name}):\n{json.dumps(schema)}"
        return await self._call(system, user, max_tokens, {"type": "json_object"})

    async def text_call(self, system: str, user: str, max_tokens: int) -> ModelReply:
        """Ask for plain text."""
        return await self._call(system, user, max_tokens, None)

    async def _call(
        self, system: str, user: str, max_tokens: int, fmt: dict[str, Any] | None
    ) -> ModelReply:
        extra: dict[str, Any] = {"response_format": fmt} if fmt else {}
        async with self._gate:
            try:
                response = await self._sdk().chat.completions.create(
                    model=self.model,
                    max_tokens=max_tokens,
                    temperature=0.2,
                    messages=[
                        {"role": "system", "content": system},
                        {"role": "user", "content": user},
                    ],
                    **extra,
                )
            except openai.BadRequestError:
                raise
            except openai.APIError as exc:
                raise ModelError(_describe(exc)) from None
        if not response.choices:
            raise ModelError("the model returned no choices")
        choice = response.choices[0]
        usage = response.usage
        return ModelReply(
            content=choice.message.content or "",
            finish_reason=choice.finish_reason or "stop",
            usage=Usage(
                usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0, 1
            ),
        )


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
    if isinstance(exc, openai.APIResponseValidationError):
        return "a malformed response"
    return type(exc).__name__
