"""`digestbot chat` on a real terminal (a pseudo-terminal): readline's keys, history, Ctrl-C."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo

UP = b"\x1b[A"
# A guard against a hung child, not a time budget: every wait below ends on what it waits for.
GUARD_SECONDS = 300


class Terminal:
    """A child process on a pseudo-terminal that is its controlling terminal."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        # util-linux setsid: a new session whose controlling terminal is stdin (so Ctrl-C
        # signals the chat), without a preexec_fn in this threaded test process. --wait keeps
        # the chat's exit status.
        self.process = subprocess.Popen(
            ["setsid", "--ctty", "--wait", *argv], stdin=slave, stdout=slave, stderr=slave, env=env
        )
        os.close(slave)
        self._master = master
        self.seen = b""

    def _read(self) -> bool:
        ready, _, _ = select.select([self._master], [], [], GUARD_SECONDS)
        if not ready:
            return False
        try:
            chunk = os.read(self._master, 65536)
        except OSError:  # the child closed the terminal
            return False
        self.seen += chunk
        return bool(chunk)

    def wait_for(self, text: bytes, count: int = 1) -> None:
        """Read until `text` has been shown `count` times."""
        while self.seen.count(text) < count:
            assert self._read(), f"never shown: {text!r} x{count}; shown:\n{self.seen[-2000:]!r}"

    def type(self, keys: bytes) -> None:
        os.write(self._master, keys)

    def exit_status(self) -> int:
        while self._read():  # drain, so the child is never blocked writing
            pass
        return self.process.wait(GUARD_SECONDS)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self._master)


@pytest.fixture
def chat(repo: GitRepo, database_url: str, tmp_path: Path) -> Iterator[Callable[[], Terminal]]:
    """Starts `digestbot chat` sessions on one repository, database and state folder."""
    repo.commit("feat: a change", datetime(2026, 3, 4, 9, tzinfo=UTC), {"src/a.py": "1\n"})
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "TERM": "xterm"}
    env.pop("OPENAI_API_KEY", None)
    argv = [sys.executable, "-m", "digestbot", "chat", "--repo", str(repo.path), "--tz", "UTC"]
    argv += ["--analyzer", "rules", "--database", database_url]
    opened: list[Terminal] = []

    def start() -> Terminal:
        opened.append(Terminal(argv, env))
        return opened[-1]

    yield start
    for terminal in opened:
        terminal.close()


def test_arrow_keys_recall_commands_and_history_outlives_the_session(
    chat: Callable[[], Terminal], tmp_path: Path
) -> None:
    first = chat()
    first.wait_for(b"digest> ")
    first.type(b"/digest help\r")
    first.wait_for(b"this help")
    first.wait_for(b"digest> ", 2)
    first.type(UP + b"\r")  # the previous line, recalled with the up arrow
    first.wait_for(b"this help", 2)
    first.wait_for(b"digest> ", 3)
    assert b"understand" not in first.seen  # the keys moved in history; they were not typed
    first.type(b"\x04")  # Ctrl-D
    assert first.exit_status() == 0
    history = tmp_path / "state" / "digestbot" / "history"
    assert "/digest help" in history.read_text(encoding="utf-8")

    second = chat()
    second.wait_for(b"digest> ")
    second.type(UP + b"\r")  # recalled from the file the first session wrote
    second.wait_for(b"this help")
    second.wait_for(b"digest> ", 2)
    assert b"understand" not in second.seen
    second.type(b"\x03")  # Ctrl-C at the prompt ends the session at once
    assert second.exit_status() == 130
