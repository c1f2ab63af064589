"""Slack's failures in our words: SlackApiError and aiohttp errors become bot.errors.ChatError."""

from __future__ import annotations

from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.errors import ChatError, DeliveryError, DigestbotError

# What to do about each refusal a post can meet (Slack's error codes).
_INVITE = "invite the bot with /invite @digestbot"
_TOKEN = "check SLACK_BOT_TOKEN, or reinstall the app and update it"
_FIXES = {
    "not_in_channel": _INVITE,
    "channel_not_found": f"check slack_channel, and {_INVITE}",
    "is_archived": "the channel is archived: unarchive it or change slack_channel",
    "invalid_auth": _TOKEN,
    "not_authed": _TOKEN,
    "token_revoked": _TOKEN,
    "account_inactive": _TOKEN,
    "missing_scope": "add the scopes of adapters/slack/manifest.yaml and reinstall the app",
    "restricted_action": "a workspace admin restricts posting in this channel",
}


def _status(exc: SlackApiError) -> int:
    response: Any = exc.response
    return int(getattr(response, "status_code", None) or getattr(response, "status", 0) or 0)


def _code(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def rate_limited(exc: SlackApiError) -> bool:
    """A 429 (or an ok=false "ratelimited"): nothing was posted, try again after Retry-After."""
    return _status(exc) == 429 or _code(exc) == "ratelimited"


def retry_after(exc: SlackApiError) -> float:
    """Slack's Retry-After in seconds (1 when it gave none)."""
    headers = getattr(exc.response, "headers", None) or {}
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), "1")
    value = value[0] if isinstance(value, list) else value
    try:
        return max(0.0, float(value))
    except ValueError:
        return 1.0


def refused(exc: SlackApiError, *, write: bool) -> ChatError:
    """A refusal, or a 5xx (after which a post may or may not exist: uncertain)."""
    status = _status(exc)
    if status >= 500 or (status and status != 200 and not _code(exc)):
        uncertain = write and status >= 500
        return ChatError(f"Slack answered HTTP {status}", code=str(status), uncertain=uncertain)
    code = _code(exc) or "unknown_error"
    if rate_limited(exc):
        return ChatError("Slack kept answering 429 (rate limited)", code=code)
    fix = _FIXES.get(code)
    return ChatError(f"Slack said {code}" + (f" ({fix})" if fix else ""), code=code)


def unreachable(exc: Exception, *, write: bool) -> ChatError:
    """A connection that failed: before sending (certain), or after (the post is uncertain)."""
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return ChatError(f"could not connect to Slack ({type(exc).__name__})")
    if isinstance(exc, TimeoutError):
        return ChatError("Slack did not answer in time", uncertain=write)
    return ChatError(f"the connection to Slack broke ({type(exc).__name__})", uncertain=write)


def could_not_post(error: DigestbotError) -> str:
    """What to tell the user of a command when Slack refused our message."""
    cause = error.cause if isinstance(error, DeliveryError) else error
    code = cause.code if isinstance(cause, ChatError) else ""
    if code in ("not_in_channel", "channel_not_found"):
        return (
            "I can't post in this channel yet: invite me with `/invite @digestbot`, then try again."
        )
    return f"I could not finish: {error}. Try again, or tell your admin."
