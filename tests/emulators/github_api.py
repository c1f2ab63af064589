"""GitHub REST emulator: repositories, Link-paginated commit lists, commits with paged files."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from bot.models import Commit, FileChange, FileStatus
from tests.emulators.loopback import LoopbackServer, Request, Response

_REPO = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)(?P<rest>/.*)?$")
FILES_PER_PAGE = 300  # "Get a commit": files are paged 300 at a time, at most 3,000 in all
LIST_PER_PAGE = (30, 100)  # list endpoints: 30 by default, at most 100 (GitHub's documented limits)
EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git's id of an empty file


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubEmulator(LoopbackServer):
    """Serves repositories built from domain Commits; `tokens` limits who may call."""

    def __init__(self) -> None:
        super().__init__()
        self.repos: dict[str, dict[str, Any]] = {}
        self.tokens: set[str] | None = None
        self.rate_remaining = 5000
        self.pulls: dict[tuple[str, int], str] = {}

    def add_repo(
        self,
        full_name: str,
        commits: list[Commit],
        default_branch: str = "main",
        private: bool = False,
    ) -> None:
        ordered = sorted(commits, key=lambda c: c.committed_at, reverse=True)
        self.repos[full_name] = {"branch": default_branch, "commits": ordered, "private": private}

    def common_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(self.rate_remaining),
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-RateLimit-Resource": "core",
        }

    def handle(self, request: Request) -> Response:
        if self.tokens is not None:
            token = (
                request.headers.get("authorization", "")
                .removeprefix("token ")
                .removeprefix("Bearer ")
            )
            if token not in self.tokens:
                return Response(401, {"message": "Bad credentials"})
        match = _REPO.match(request.path)
        if not match or f"{match['owner']}/{match['name']}" not in self.repos:
            return Response(404, {"message": "Not Found"})
        anonymous = not request.headers.get("authorization")
        if anonymous and self.repos[f"{match['owner']}/{match['name']}"]["private"]:
            return Response(404, {"message": "Not Found"})  # GitHub hides private repositories
        full_name = f"{match['owner']}/{match['name']}"
        rest = match["rest"] or ""
        if rest == "":
            return Response(200, self._repo_json(full_name))
        if rest == "/commits":
            return self._list(full_name, request)
        if rest.startswith("/pulls/"):
            number = int(rest.removeprefix("/pulls/"))
            merged = self.pulls.get((full_name, number))
            if merged is None:
                return Response(404, {"message": "Not Found"})
            return Response(
                200,
                {
                    "number": number,
                    "state": "closed",
                    "merged": True,
                    "merge_commit_sha": merged,
                    "url": f"{self.url}/repos/{full_name}/pulls/{number}",
                },
            )
        if rest.startswith("/commits/"):
            return self._commit(full_name, rest.removeprefix("/commits/"), request)
        return Response(404, {"message": "Not Found"})

    def _repo_json(self, full_name: str) -> dict[str, Any]:
        owner, name = full_name.split("/")
        repo = self.repos[full_name]
        return {
            "id": abs(hash(full_name)) % 10**8,
            "name": name,
            "full_name": full_name,
            "owner": {"login": owner},
            "private": repo["private"],
            "default_branch": repo["branch"],
            "url": f"{self.url}/repos/{full_name}",
            "html_url": f"https://github.com/{full_name}",
        }

    def _list(self, full_name: str, request: Request) -> Response:
        commits: list[Commit] = self.repos[full_name]["commits"]
        since = request.query.get("since", [None])[0]
        until = request.query.get("until", [None])[0]
        if since:
            commits = [c for c in commits if _iso(c.committed_at) >= since]
        if until:
            commits = [c for c in commits if _iso(c.committed_at) <= until]
        page, per_page = _paging(request, *LIST_PER_PAGE)
        chunk = commits[(page - 1) * per_page : page * per_page]
        headers = self._link(request, page, per_page, len(commits))
        return Response(200, [self._summary(full_name, c) for c in chunk], headers)

    def _link(self, request: Request, page: int, per_page: int, total: int) -> dict[str, str]:
        last = max(1, -(-total // per_page))
        if last == 1:
            return {}
        query = {k: v[0] for k, v in request.query.items()}
        links = []
        for rel, number in (("next", page + 1), ("last", last)):
            if number <= last and not (rel == "next" and page >= last):
                params = urlencode({**query, "page": number, "per_page": per_page})
                url = f"{self.url}{request.path}?{params}"
                links.append(f'<{url}>; rel="{rel}"')
        return {"Link": ", ".join(links)} if links else {}

    def _summary(self, full_name: str, commit: Commit) -> dict[str, Any]:
        person = {
            "name": commit.author,
            "email": "dev@example.com",
            "date": _iso(commit.committed_at),
        }
        return {
            "sha": commit.sha,
            "url": f"{self.url}/repos/{full_name}/commits/{commit.sha}",
            "html_url": commit.url or f"https://github.com/{full_name}/commit/{commit.sha}",
            "commit": {"author": person, "committer": person, "message": commit.message},
            "parents": [{"sha": f"{i:040d}"} for i in range(commit.parents)],
        }

    def _commit(self, full_name: str, ref: str, request: Request) -> Response:
        found = [c for c in self.repos[full_name]["commits"] if c.sha.startswith(ref)]
        if not found:
            return Response(422, {"message": f"No commit found for SHA: {ref}"})
        commit = found[0]
        page, per_page = _paging(request, FILES_PER_PAGE, FILES_PER_PAGE)
        files = commit.files[(page - 1) * per_page : page * per_page]
        body = self._summary(full_name, commit)
        body["stats"] = {
            "additions": commit.additions,
            "deletions": commit.deletions,
            "total": commit.additions + commit.deletions,
        }
        body["files"] = [_file_json(f) for f in files]
        return Response(200, body, self._link(request, page, per_page, len(commit.files)))


def _paging(request: Request, default: int, largest: int) -> tuple[int, int]:
    page = int(request.query.get("page", ["1"])[0])
    per_page = min(int(request.query.get("per_page", [str(default)])[0]), largest)
    return page, per_page


def _file_json(change: FileChange) -> dict[str, Any]:
    data: dict[str, Any] = {
        "filename": change.path,
        "status": change.status.value,
        "additions": change.additions,
        "deletions": change.deletions,
        "changes": change.changes,
        # GitHub sends the blob id; an empty file's is git's well-known empty blob.
        "sha": EMPTY_BLOB if _empty(change) else "0" * 40,
    }
    if change.patch:
        data["patch"] = change.patch
    if change.old_path:
        data["previous_filename"] = change.old_path
    return data


def _empty(change: FileChange) -> bool:
    added_or_removed = change.status in (FileStatus.ADDED, FileStatus.REMOVED)
    return added_or_removed and not change.binary and not change.patch and change.changes == 0
