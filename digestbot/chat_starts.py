"""Starting Slack and Telegram for digestbot.platforms: the SDK calls, their failures in words.

Every failure becomes a ChatError whose reason is built from error codes and class names only
(never an SDK message: PTB and httpx put the bot token in theirs); `retry_helps=False` marks a
refusal only a configuration change can fix (a wrong token), which is retried rarely.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from adapters.slack.app import socket_mode
from adapters.slack.errors import refused, unreachable
from adapters.telegram.app import TelegramApp, start
from bot.config import TelegramConfig
from bot.errors import ChatError

# Slack's error codes that no retry fixes: the token is wrong, revoked or lacks a scope.
_REFUSED_FOR_GOOD = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
        "not_allowed_token_type",
    }
)
# slack_sdk's Socket Mode client retries a failed WebSocket connect forever, inside connect():
# the start attempt gives up after this long and the runner's backoff takes over.
SOCKET_CONNECT_SECONDS = 30.0
# PTB's polling loop retries by itself (up to every 30 s) and tells us each failure: the
# connection counts as down while failures are this recent.
POLLING_FAILURE_WINDOW = 75.0


class _NoHtmlTraceback(logging.Filter):
    """PTB logs a traceback at ERROR for every non-JSON answer (a proxy's HTML 502 page).

    The failure is already one line of ours (a degraded platform, a failed post): drop PTB's.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Can not load invalid JSON data")


logging.getLogger("telegram.request.BaseRequest").addFilter(_NoHtmlTraceback())


async def _slack(call: Callable[[], Awaitable[Any]], variable: str) -> Any:
    """One Slack Web API call at start-up; a refusal names the variable to fix."""
    try:
        return await call()
    except SlackApiError as exc:
        error = refused(exc, write=False)
        if error.code in _REFUSED_FOR_GOOD:
            fix = "check it, or reinstall the app and update it"
            raise ChatError(
                f"Slack refused {variable} ({error.code}): {fix}",
                code=error.code,
                retry_helps=False,
            ) from None
        raise error from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise unreachable(exc, write=False) from None


class SlackStart:
    """auth.test (the bot token), then the Socket Mode connection when an app token is set."""

    def __init__(self, client: AsyncWebClient, app: AsyncApp, app_token: str | None) -> None:
        self._client = client
        self._app = app
        self._app_token = app_token
        self.socket: AsyncSocketModeHandler | None = None

    async def __call__(self) -> None:
        """One start attempt."""
        await _slack(self._client.auth_test, "SLACK_BOT_TOKEN")
        if self._app_token and self.socket is None:
            self.socket = await self._connect(self._app_token)

    async def _connect(self, app_token: str) -> AsyncSocketModeHandler:
        handler = socket_mode(self._app, app_token)
        try:
            # Asked here, not inside the SDK's connect loop, so a refused app token is named
            # and not retried every ping interval; the loop then uses this URL.
            opened = await _slack(
                lambda: self._client.apps_connections_open(app_token=app_token), "SLACK_APP_TOKEN"
            )
            handler.client.wss_uri = opened["url"]
            await asyncio.wait_for(handler.connect_async(), SOCKET_CONNECT_SECONDS)  # type: ignore[no-untyped-call]
        except TimeoutError:
            await handler.close_async()  # type: ignore[no-untyped-call]
            limit = f"{SOCKET_CONNECT_SECONDS:.0f} s"
            raise ChatError(f"Slack Socket Mode did not connect within {limit}") from None
        except BaseException:
            await handler.close_async()  # type: ignore[no-untyped-call]
            raise
        return handler

    async def check(self) -> str | None:
        """Why the running connection is down, or None (the SDK reconnects by itself)."""
        if self.socket is not None and not await self.socket.client.is_connected():
            return "the Socket Mode connection is down; the SDK is reconnecting"
        return None

    async def close(self) -> None:
        """Close the Socket Mode connection."""
        if self.socket is not None:
            await self.socket.close_async()  # type: ignore[no-untyped-call]


def telegram_refusal(exc: TelegramError) -> ChatError:
    """A start-up failure in words; the reason never quotes PTB's text when it holds a URL."""
    if isinstance(exc, InvalidToken):
        return ChatError(
            "Telegram refused TELEGRAM_BOT_TOKEN (or TELEGRAM_API_URL is not a Bot API server): "
            "check both",
            code="token",
            retry_helps=False,
        )
    if isinstance(exc, Forbidden | BadRequest):  # setWebhook's URL, a bot not allowed a call
        return ChatError(f"Telegram refused the start: {exc.message}", retry_helps=False)
    if isinstance(exc.__cause__, httpx.InvalidURL | httpx.UnsupportedProtocol):
        # A base URL without "/bot" glues the token to the host: the URL cannot be built.
        return ChatError(
            f"TELEGRAM_API_URL is not a Bot API URL ({type(exc.__cause__).__name__}): "
            "use e.g. https://api.telegram.org/bot",
            retry_helps=False,
        )
    return ChatError(telegram_trouble(exc))


def telegram_trouble(exc: TelegramError) -> str:
    """A transient Telegram failure in a few safe words."""
    cause = exc.__cause__
    if isinstance(exc, RetryAfter):
        return "Telegram asked to wait (429)"
    if isinstance(exc, Conflict):
        return "Telegram says another process polls this bot (409): run one clock process"
    if isinstance(exc, TimedOut):
        return "Telegram did not answer in time"
    if cause is not None and not isinstance(cause, TelegramError):
        # httpx's text can hold the URL, and the URL holds the token: the class name only.
        return f"could not reach Telegram ({type(cause).__name__})"
    if isinstance(exc, NetworkError):
        return f"Telegram failed: {exc.message.split('. ')[0][:80]}"
    return f"Telegram failed ({type(exc).__name__})"


class TelegramStart:
    """getMe, setMyCommands and the application; then polling or the webhook."""

    def __init__(
        self,
        application: TelegramApp,
        *,
        polling: bool,
        webhook_url: str | None,
        secret: str | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._application = application
        self.polling = polling
        self._webhook_url = webhook_url
        self._secret = secret
        self._clock = clock
        self._failed: tuple[float, str] | None = None

    @classmethod
    def for_role(
        cls, application: TelegramApp, config: TelegramConfig, *, web: bool, clock: bool
    ) -> TelegramStart:
        """The clock polls unless a webhook is configured; then the web process sets it."""
        secret = config.webhook_secret.get_secret_value() if config.webhook_secret else None
        return cls(
            application,
            polling=clock and not config.webhook_url,
            webhook_url=config.webhook_url if web else None,
            secret=secret,
        )

    async def __call__(self) -> None:
        """One start attempt (each step is skipped once done)."""
        try:
            await start(
                self._application,
                polling=self.polling,
                webhook_url=self._webhook_url,
                secret=self._secret,
                on_error=self.polling_failed,
            )
        except TelegramError as exc:
            raise telegram_refusal(exc) from None

    def polling_failed(self, exc: TelegramError) -> None:
        """PTB's polling loop failed once (it retries by itself): remember why and when."""
        self._failed = (self._clock(), telegram_trouble(exc))

    async def check(self) -> str | None:
        """Why polling is failing now, or None."""
        if self._failed is None:
            return None
        when, reason = self._failed
        if self._clock() - when > POLLING_FAILURE_WINDOW:
            return None
        return f"polling fails: {reason}"
