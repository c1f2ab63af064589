"""A threaded HTTP server on 127.0.0.1 with scripted faults, shared by every emulator."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    """An answer to give instead of the real one: a status, a body, headers, a delay.

    `status=0` drops the connection without an answer; `status=None` gives the real answer
    (late, with `delay`). `after=True` handles the request first (the platform accepted it),
    then answers with the fault. `skip` lets that many matching requests through first.
    """

    status: int | None = 500
    body: bytes | str | dict[str, Any] = b'{"message": "Server Error"}'
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    path_contains: str = ""
    after: bool = False
    skip: int = 0


@dataclass
class Request:
    """What the emulator received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Response:
    """A normal answer."""

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    # The default listen backlog of 5 drops the SYNs of a burst of concurrent clients, which
    # then wait a full TCP retransmission second: a delay no real provider adds.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that went away (killed, timed out) is a scenario, not an error


class RateWindow:
    """A per-key sliding-window limit an emulator enforces: None while allowed, else the
    whole seconds to wait (a Retry-After); counts the refusals."""

    def __init__(self, count: int, seconds: float) -> None:
        self.count = count
        self.seconds = seconds
        self.refused = 0
        self._sent: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, key: str) -> int | None:
        now = time.monotonic()
        with self._lock:
            sent = self._sent[key]
            while sent and sent[0] <= now - self.seconds:
                sent.popleft()
            if len(sent) < self.count:
                sent.append(now)
                return None
            self.refused += 1
            return max(1, math.ceil(sent[0] + self.seconds - now))


class LoopbackServer:
    """Base emulator: subclasses implement `handle(request) -> Response`."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.faults: deque[Fault] = deque()
        self.latency = 0.0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def _serve(self) -> None:
                emulator._dispatch(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def fail(self, *faults: Fault) -> None:
        """Queue faults; each answers one matching request, in order."""
        self.faults.extend(faults)

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.path_contains in path:
                    if fault.skip:
                        fault.skip -= 1
                        return None
                    self.faults.remove(fault)
                    return fault
        return None

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        request = Request(
            handler.command,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in handler.headers.items()},
            body,
        )
        with self._lock:
            self.requests.append(request)
        if self.latency:
            time.sleep(self.latency)
        fault = self._take_fault(parts.path)
        if fault is None:
            self._send(handler, self.handle(request))
            return
        real = self.handle(request) if fault.after else None  # accepted before the fault
        time.sleep(fault.delay)
        if fault.status is None:  # the real answer, late: accepted at once, or only now
            self._send(handler, real or self.handle(request))
        else:
            self._send(handler, Response(fault.status, fault.body, fault.headers))

    def _send(self, handler: BaseHTTPRequestHandler, response: Response) -> None:
        if response.status == 0:  # a dropped connection: no answer at all
            handler.close_connection = True
            return
        body = response.body
        headers = dict(response.headers)
        if isinstance(body, dict | list):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        elif isinstance(body, str):
            body = body.encode()
        try:
            handler.send_response(response.status)
            for key, value in {**self.common_headers(), **headers}.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            return  # the client gave up (a time-out test): nothing to answer

    def common_headers(self) -> dict[str, str]:
        return {}

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
