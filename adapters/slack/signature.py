"""Slack's request signature, checked before Bolt parses anything.

Bolt decodes and parses the body (UTF-8, JSON or form) before its own signature check, and
slack_sdk's verifier raises on a non-numeric timestamp or a non-ASCII signature: either way an
unsigned, malformed request became a 500. Here such a request is a plain 401.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

# Slack refuses requests older than five minutes (replay protection), and so do we.
MAX_AGE_SECONDS = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
Endpoint = Callable[[Request], Awaitable[Response]]


def is_signed(
    secret: str, body: bytes, timestamp: str, signature: str, now: float | None = None
) -> bool:
    """True for `v0=HMAC-SHA256(secret, "v0:{timestamp}:{body}")` at most five minutes old."""
    if not _TIMESTAMP.fullmatch(timestamp):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature.encode("utf-8", "replace"), expected.encode())


def signed_only(endpoint: Endpoint, secret: str) -> Endpoint:
    """`endpoint`, reached only by requests Slack signed; others get 401 before parsing."""

    async def checked(request: Request) -> Response:
        body = await request.body()  # cached: the endpoint reads the same bytes again
        headers = request.headers
        timestamp = headers.get("x-slack-request-timestamp", "")
        if not is_signed(secret, body, timestamp, headers.get("x-slack-signature", "")):
            return PlainTextResponse("Invalid request signature.", status_code=401)
        return await endpoint(request)

    return checked
