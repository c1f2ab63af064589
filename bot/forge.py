"""A commit's pages on its forge: where a `#N` in a title leads (GitHub and GitHub Enterprise).

The decision is the document's (bot/document.py); every renderer draws the links it is given.
"""

from __future__ import annotations

import re

# `#123` in a title, not `org/repo#123` (another repository's) nor `abc#1`.
PR_REF = re.compile(r"(?<![\w/#])#(\d{1,9})\b")
_COMMIT_PAGE = re.compile(r"^(https?://([^/]+)/[^/]+/[^/]+)/commit/[0-9a-fA-F]{7,64}$")
# Hosts whose commit pages are GitHub's, where `#N` is `…/pull/N` (GitHub sends an issue's
# number on to the issue). github.com, plus the Enterprise host behind GITHUB_API_URL that the
# composition root adds (add_github_host): another forge's pull requests live elsewhere.
_GITHUB_HOSTS: set[str] = {"github.com"}


def safe_url(url: str | None) -> str | None:
    """A web link, or None: anything else (javascript:, data:) is never written as a link."""
    if not url or not url.startswith(("https://", "http://")):
        return None
    return re.sub(r"[\x00-\x20\x7f-\x9f]", lambda m: f"%{ord(m.group(0)):02X}", url)


def github_web_base(api_url: str) -> str:
    """GitHub's web pages for its API: api.github.com → github.com; GHE's `/api/v3` → its host."""
    scheme, _, rest = api_url.rstrip("/").partition("://")
    host, _, path = rest.partition("/")
    if host.lower() == "api.github.com":
        host = "github.com"
    if path.rstrip("/").endswith("api/v3"):
        path = path.rstrip("/")[: -len("api/v3")].rstrip("/")
    return f"{scheme}://{host}" + (f"/{path}" if path else "")


def add_github_host(api_url: str) -> None:
    """Link pull requests on the GitHub (Enterprise) host whose API is at `api_url` too."""
    _GITHUB_HOSTS.add(github_web_base(api_url).partition("://")[2].split("/")[0].lower())


def pull_request_url(commit_url: str | None, number: int) -> str | None:
    """The pull request `number` of the repository a GitHub commit page belongs to, or None."""
    match = _COMMIT_PAGE.match(commit_url or "")
    if not match or match.group(2).lower() not in _GITHUB_HOSTS:
        return None
    return safe_url(f"{match.group(1)}/pull/{number}")
