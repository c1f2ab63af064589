"""What a network failure was, in a few words, from the chain of exceptions under it."""

from __future__ import annotations

import socket
import ssl
from http.client import HTTPException

import requests

# Checked in order along the chain (requests → urllib3 → the socket error underneath).
_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (socket.gaierror, "the host name does not resolve (DNS)"),
    (ConnectionRefusedError, "connection refused"),
    (ConnectionResetError, "the connection was reset"),
    (ssl.SSLError, "the TLS handshake failed"),
    (TimeoutError, "timed out"),
    (requests.Timeout, "timed out"),
    (HTTPException, "the connection was closed mid-answer"),
    (ConnectionError, "the connection failed"),
)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        reason = getattr(current, "reason", None)
        todo.extend([current.__cause__, current.__context__])
        todo.extend(a for a in (reason, *current.args) if isinstance(a, BaseException))
    return seen


def network_failure(exc: BaseException) -> str:
    """'connection refused', 'the connection was reset', 'timed out'… for an HTTP error."""
    chain = _chain(exc)
    for kind, words in _KINDS:
        if any(isinstance(e, kind) for e in chain):
            return words
    text = " ".join(str(e) for e in chain).lower()
    if "resolve" in text or "name or service" in text:
        return _KINDS[0][1]
    if "reset" in text or "aborted" in text or "remotedisconnected" in text:
        return _KINDS[2][1]
    return f"a network error ({type(exc).__name__})"
