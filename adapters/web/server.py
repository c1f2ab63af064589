"""The HTTP server's own limits: a deadline for a request's head (slowloris), header size, load.

uvicorn has no header-read timeout: `timeout_keep_alive` only runs between requests and any
byte received cancels it, so a client sending one header byte every few seconds held a
connection (and its memory) forever. `HeadDeadlineH11` closes a connection whose request head
is not complete `head_seconds` after the connection opened or the previous response ended.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_SECONDS = 10.0  # Slack and Telegram send a whole request at once; browsers too
MAX_HEAD_BYTES = 16 * 1024  # h11 answers 400 past this (request line + headers)
MAX_CONNECTIONS = 200  # uvicorn answers 503 past this: memory ≤ 200 × the 1 MiB body cap
KEEP_ALIVE_SECONDS = 5


class HeadDeadlineH11(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's head."""

    head_seconds = HEAD_SECONDS
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head is complete: the app has it
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection gets its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.head_seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        busy = self.cycle is not None and not self.cycle.response_complete
        if self.conn.their_state is h11.IDLE and not busy and not self.transport.is_closing():
            self.transport.close()  # no request is in flight: nothing is lost


def protocol_with(head_seconds: float) -> type[HeadDeadlineH11]:
    """The protocol class with another head deadline (tests use a short one)."""
    return type("HeadDeadlineH11", (HeadDeadlineH11,), {"head_seconds": head_seconds})


def server_config(
    app: ASGIApp, host: str, port: int, head_seconds: float = HEAD_SECONDS, **extra: Any
) -> uvicorn.Config:
    """The uvicorn config with our limits; logging is left to digestbot.logs (log_config=None)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol_with(head_seconds),
        log_config=None,  # our root handler, with its redacting filter, prints uvicorn's lines
        log_level="info",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        limit_concurrency=MAX_CONNECTIONS,
        **extra,
    )
