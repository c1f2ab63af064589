"""A real `digestbot` process on a loopback port, and raw-socket clients for hostile requests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    """A running process: its base URL, its pid, and the file its stderr goes to."""

    base: str
    port: int
    process: subprocess.Popen[bytes]
    stderr: Path

    def rss_mib(self) -> float:
        """Resident memory now, from /proc (Linux)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="utf-8")
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    def log(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any platform credential, plus `extra`."""
    prefixes = ("SLACK_", "TELEGRAM_", "OPENAI_", "GITHUB_", "DIGEST_", "LOG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


@contextlib.contextmanager
def served(role: str, env: dict[str, str], database_url: str, tmp: Path) -> Iterator[Served]:
    """`digestbot ROLE --port P`, up once /healthz answers; stopped with SIGTERM afterwards."""
    port = free_port()
    stderr = tmp / f"{role}-{port}.log"
    command = [sys.executable, "-m", "digestbot", role, "--port", str(port)]
    with stderr.open("wb") as sink:
        process = subprocess.Popen(
            [*command, "--database", database_url], env=env, stderr=sink, stdout=sink
        )
    running = Served(f"http://127.0.0.1:{port}", port, process, stderr)
    try:
        wait_for(lambda: _answers(running.base + "/healthz") or process.poll() is not None)
        assert process.poll() is None, running.log()
        yield running
    finally:
        process.terminate()
        process.wait(30)


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True  # a 503 is an answer
    except OSError:
        return False
    return True


def wait_for(condition: object, seconds: float = 60.0) -> None:
    """Poll a condition (never a fixed sleep); fail after a generous bound."""
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def post_huge(
    port: int, path: str, total: int, *, declared: bool, headers: str = ""
) -> tuple[str, int]:
    """POST `total` bytes (Content-Length or chunked); the status line and bytes sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    framing = f"Content-Length: {total}" if declared else "Transfer-Encoding: chunked"
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n{framing}\r\n"
    sock.sendall((head + headers + "\r\n").encode())
    sent = [0]

    def pump() -> None:
        chunk = b"[" * 65536
        framed = chunk if declared else b"%x\r\n%s\r\n" % (len(chunk), chunk)
        with contextlib.suppress(OSError):  # the server closed: it refused the rest
            while sent[0] < total:
                sock.sendall(framed)
                sent[0] += len(chunk)
            if not declared:
                sock.sendall(b"0\r\n\r\n")

    sender = threading.Thread(target=pump, daemon=True)
    sender.start()
    answer = b""
    with contextlib.suppress(OSError):
        while b"\r\n" not in answer:
            more = sock.recv(4096)
            if not more:
                break
            answer += more
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    sender.join(60)
    return answer.split(b"\r\n")[0].decode("latin-1"), sent[0]
