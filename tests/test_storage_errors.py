"""A database the bot cannot use is one line naming it and what to do, at every step."""

from __future__ import annotations

import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from bot.errors import StorageError
from bot.storage.database import create_engine, migrate
from bot.storage.sql_store import SqlStore
from digestbot.cli import main
from tests.factories import commit
from tests.gitrepo import GitRepo

TZ = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def day(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    for var in ("OPENAI_API_KEY", "DATABASE_URL", "DIGESTBOT_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    repo.commit("feat: a", datetime(2026, 3, 4, 9, tzinfo=TZ), {"src/a.py": "1\n"})
    return ["--repo", str(repo.path), "--date", "2026-03-04", "--tz", "Asia/Tokyo"]


def digest_line(capsys: pytest.CaptureFixture[str], database: str, day: list[str]) -> str:
    code = main(["digest", *day, "--database", database])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and "Traceback" not in err
    return err.strip().splitlines()[-1]


def migrated(path: Path) -> str:
    url = f"sqlite:///{path}"
    migrate(url)
    return url


def test_a_read_only_database(
    tmp_path: Path, day: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    migrated(tmp_path / "ro.sqlite3")
    url = f"sqlite:///file:{tmp_path / 'ro.sqlite3'}?mode=ro&uri=true"
    assert "is read-only: make it writable" in digest_line(capsys, url, day)


async def test_the_store_says_read_only_in_one_line(tmp_path: Path) -> None:
    migrated(tmp_path / "ro.sqlite3")
    store = SqlStore(create_engine(f"sqlite:///file:{tmp_path / 'ro.sqlite3'}?mode=ro&uri=true"))
    with pytest.raises(StorageError, match="is read-only"):
        await store.put_commit(commit("feat: x"))
    assert await store.get_commit("acme/app", "a" * 40) is None  # reading still works
    await store.close()


def test_a_corrupt_database(
    tmp_path: Path, day: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"not a database at all " * 400)
    line = digest_line(capsys, f"sqlite:///{corrupt}", day)
    assert f"the database file {corrupt} is not a readable database (corrupt?)" in line
    assert corrupt.read_bytes().startswith(b"not a database")  # left as it was


def test_a_database_from_a_newer_version(
    tmp_path: Path, day: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = migrated(tmp_path / "newer.sqlite3")
    with sqlite3.connect(tmp_path / "newer.sqlite3") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_future'")
    assert "was written by a newer digestbot" in digest_line(capsys, url, day)


def test_a_full_disk_when_migrating(
    tmp_path: Path, day: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "full.sqlite3").symlink_to("/dev/full")  # every write: ENOSPC
    line = digest_line(capsys, f"sqlite:///{tmp_path / 'full.sqlite3'}", day)
    assert "ran out of disk space: free some space" in line


@contextmanager
def disk_fills_up_now() -> Iterator[None]:
    """SQLite connections opened from now on may not grow their file: the disk is "full"."""

    def no_growth(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA page_count")
        pages = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
        cursor.close()

    event.listen(Engine, "connect", no_growth)
    yield
    event.remove(Engine, "connect", no_growth)


def test_a_full_disk_in_the_middle_of_a_run(
    tmp_path: Path, repo: GitRepo, day: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = migrated(tmp_path / "filling.sqlite3")  # migrated while there was room
    big = "".join(f"value_{i} = {i}\n" for i in range(5000))  # a commit that needs new pages
    repo.commit("feat: b", datetime(2026, 3, 4, 10, tzinfo=TZ), {"src/b.py": big})
    with disk_fills_up_now():
        line = digest_line(capsys, url, day)
    assert f"the database file {tmp_path / 'filling.sqlite3'} ran out of disk space" in line


def test_postgresql_that_is_not_running(day: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    line = digest_line(capsys, "postgresql://bot:hunter2@127.0.0.1:1/digests", day)
    assert line == (
        "digestbot: the PostgreSQL database digests at 127.0.0.1:1 refused the connection: "
        "is PostgreSQL running, and is DATABASE_URL right?"
    )


class _Proxy:
    """A TCP forwarder to PostgreSQL that can be cut, as if the server stopped mid-run."""

    def __init__(self, host: str, port: int) -> None:
        self._upstream = (host, port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = [self._server]
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for end in (source, target):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        for sock in self._sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


async def test_postgresql_stopping_in_the_middle_of_a_run_is_one_line(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("needs the PostgreSQL suite (tests/run_suite.sh runs it)")
    proxy = _Proxy(url.host or "127.0.0.1", url.port or 5432)
    store = SqlStore(
        create_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
    )
    await store.put_commit(commit("feat: before"))

    proxy.cut()

    with pytest.raises(StorageError) as caught:
        await store.put_commit(commit("feat: after", sha="b" * 40))
    line = str(caught.value)
    assert line.startswith(f"the PostgreSQL database {url.database} at 127.0.0.1:{proxy.port} ")
    assert (
        "closed the connection" in line or "refused the connection" in line
    ) and "\n" not in line
    await store.close()
