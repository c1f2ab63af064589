"""Builds real git repositories for tests, with exact committer times and authors."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path


class GitRepo:
    """A scratch repository; each commit call writes files and commits at a given time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.name", "Test Author")
        self.git("config", "user.email", "author@example.com")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        merged = {**os.environ, **(env or {})}
        result = subprocess.run(
            ["git", "-C", str(self.path), *args], check=True, capture_output=True, env=merged
        )
        return result.stdout.decode("utf-8", "replace").strip()

    def write(self, rel: str, content: str | bytes) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")

    def commit(
        self,
        message: str | bytes,
        when: datetime,
        files: dict[str, str | bytes] | None = None,
        author: str = "Test Author",
        remove: tuple[str, ...] = (),
        move: tuple[tuple[str, str], ...] = (),
    ) -> str:
        for rel, content in (files or {}).items():
            self.write(rel, content)
        for rel in remove:
            self.git("rm", "-q", rel)
        for old, new in move:
            self.git("mv", old, new)
        self.git("add", "-A")
        raw = message if isinstance(message, bytes) else message.encode()
        msg_file = self.path.parent / f".msg-{self.path.name}"
        msg_file.write_bytes(raw)
        stamp = when.isoformat()
        env = {
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_DATE": stamp,
            "GIT_AUTHOR_NAME": author,
            "GIT_COMMITTER_NAME": author,
        }
        self.git(
            "commit", "-q", "--allow-empty", "--cleanup=verbatim", "-F", str(msg_file), env=env
        )
        return self.git("rev-parse", "HEAD")

    def symlink(self, rel: str, target: str) -> None:
        link = self.path / rel
        if link.exists() or link.is_symlink():
            link.unlink()
        link.symlink_to(target)

    def gitlink(self, rel: str, sha: str) -> None:
        """Record a submodule at `rel` pointing at `sha` (not checked out: an empty directory)."""
        (self.path / rel).mkdir(parents=True, exist_ok=True)
        self.git("update-index", "--add", "--cacheinfo", f"160000,{sha},{rel}")

    def fast_import(self, count: int, when: datetime, files_each: int = 1) -> list[str]:
        """`count` commits on main, one second apart from `when`, written by git fast-import."""
        stamp = int(when.timestamp())
        parts: list[bytes] = []
        for i in range(count):
            message = f"feat: change {i}\n".encode()
            parts.append(b"commit refs/heads/main\nmark :%d\n" % (i + 1))
            parts.append(b"committer Test Author <a@e.com> %d +0000\n" % (stamp + i))
            parts.append(b"data %d\n%s" % (len(message), message))
            for j in range(files_each):
                body = f"change {i}\n".encode() * (j + 1)
                parts.append(b"M 100644 inline src/f%d.txt\ndata %d\n%s\n" % (j, len(body), body))
        subprocess.run(
            ["git", "-C", str(self.path), "fast-import", "--quiet"],
            input=b"".join(parts),
            check=True,
            capture_output=True,
        )
        return self.git("log", "--format=%H", "main").split()[::-1]

    def merge(self, branch: str, message: str, when: datetime) -> str:
        stamp = when.isoformat()
        env = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
        self.git("merge", "-q", "--no-ff", "-m", message, branch, env=env)
        return self.git("rev-parse", "HEAD")
