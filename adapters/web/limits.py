"""Hostile-request limits on every route: body size and time, sane URLs, security headers.

The middlewares are plain ASGI so they sit in front of everything, Bolt and PTB included:
nothing parses a body before it is known to be at most `MAX_BODY` bytes, and every response,
404 and 500 included, carries the same headers as a report page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from urllib.parse import unquote_to_bytes

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.web.pages import CSP

MAX_BODY = 1 << 20  # 1 MiB: Slack's and Telegram's payloads are a few KiB
BODY_SECONDS = 20.0  # a client trickling its body (slow POST) is cut off after this
# Signed URLs must not leak through the Referer header, nor sit in shared caches.
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


def _plain(text: str, status: int) -> Response:
    return PlainTextResponse(text, status_code=status, headers=SECURITY_HEADERS)


def _refusal(text: str, status: int) -> Response:
    # `Connection: close`: the server stops reading the rest of a body it refused.
    headers = {**SECURITY_HEADERS, "Connection": "close"}
    return PlainTextResponse(text, status_code=status, headers=headers)


def _declared_length(scope: Scope) -> int | None:
    """Content-Length, or -1 when it is not a plain number (h11 refuses those, ASGI may not)."""
    values = [v for k, v in scope.get("headers", ()) if k == b"content-length"]
    if not values:
        return None
    raw = values[0].strip()
    if len(values) > 1 or not raw.isdigit() or not raw.isascii() or len(raw) > 18:
        return -1
    return int(raw)


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:  # counted as chunks arrive: a chunked body has no Content-Length
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class BodyLimit:
    """Reads the whole body (≤ `limit` bytes, within `seconds`) before the app sees any of it.

    A declared Content-Length over the limit is answered 413 without reading a byte.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY, seconds: float = BODY_SECONDS) -> None:
        self.app, self.limit, self.seconds = app, limit, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = await self._body(scope, receive)
        if isinstance(found, Response):
            await found(scope, receive, send)
        elif found is not None:
            await self.app(scope, _replay(found, receive), send)

    async def _body(self, scope: Scope, receive: Receive) -> bytes | Response | None:
        """The whole body, the refusal to answer, or None when the client went away."""
        declared = _declared_length(scope)
        too_large = f"Request body over {self.limit} bytes."
        if declared is not None and declared < 0:
            return _refusal("Bad Content-Length.", 400)
        if declared is not None and declared > self.limit:
            return _refusal(too_large, 413)
        try:
            async with asyncio.timeout(self.seconds):
                return await _read_body(receive, self.limit)
        except _TooLarge:
            return _refusal(too_large, 413)
        except TimeoutError:
            return _refusal("Request body too slow.", 408)
        except _Disconnected:
            return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # after the body: wait for the disconnect, as ASGI does
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def _has_control(raw: bytes) -> bool:
    return any(b < 0x20 or b == 0x7F for b in raw)


class SaneUrls:
    """400 for a path or query holding control characters (NUL: PostgreSQL rejects it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope.get("raw_path") or scope["path"].encode("utf-8", "replace")
            query = scope.get("query_string", b"")
            if _has_control(unquote_to_bytes(path)) or _has_control(
                unquote_to_bytes(query.replace(b"+", b" "))
            ):
                await _plain("Control characters in the URL.", 400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Adds the page headers to every response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


async def server_error(request: Request, exc: Exception) -> Response:
    """A 500 with the page headers and no detail; the traceback goes to the (redacted) log."""
    return _plain("Internal error; it has been logged.", 500)


def guarded_app(routes: Sequence[BaseRoute], *, body_limit: int = MAX_BODY) -> Starlette:
    """A Starlette app with every limit above in front of `routes`."""
    return Starlette(
        routes=list(routes),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(SaneUrls),
            Middleware(BodyLimit, limit=body_limit),
        ],
        exception_handlers={Exception: server_error},
    )
