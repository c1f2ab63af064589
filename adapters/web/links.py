"""Signed, expiring report links: private repositories' pages open only through them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from bot.digest import wildcard_match
from bot.models import RepoDigest


def _digest_of(secret: bytes, message: str) -> str:
    mac = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


@dataclass(frozen=True)
class LinkSigner:
    """Signs a page's identity with an expiry; public repositories need no signature."""

    secret: bytes
    public_repos: tuple[str, ...] = ()
    lifetime_seconds: int = 30 * 86400
    clock: Callable[[], float] = field(default=time.time)

    def is_public(self, repo: str) -> bool:
        """True for repositories listed as public (wildcards allowed)."""
        return any(wildcard_match(p, repo) for p in self.public_repos)

    def query(self, resource: str, repo: str) -> dict[str, str]:
        """The signature parameters for a resource (empty for a public repository)."""
        if self.is_public(repo):
            return {}
        expires = str(int(self.clock()) + self.lifetime_seconds)
        return {"exp": expires, "sig": _digest_of(self.secret, f"{resource}|{expires}")}

    def allows(self, resource: str, repo: str, params: Mapping[str, str]) -> bool:
        """A public repository, or an unexpired, valid signature for exactly this resource."""
        if self.is_public(repo):
            return True
        expires, given = params.get("exp", ""), params.get("sig", "")
        if not expires.isdigit() or int(expires) < self.clock():
            return False
        return hmac.compare_digest(given, _digest_of(self.secret, f"{resource}|{expires}"))


def page_resource(repo: str, day: str, tz: str, language: str) -> str:
    """What a report page's signature covers."""
    return f"page|{repo}|{day}|{tz}|{language}"


def index_resource(repo: str) -> str:
    """What a repository index's signature covers."""
    return f"index|{repo}"


def page_path(repo: str, day: str, tz: str, language: str) -> str:
    """The path of a report page, unsigned (the day first: a repository name has slashes)."""
    return f"/reports/{day}/{quote(repo)}?" + urlencode({"tz": tz, "lang": language})


def index_path(repo: str) -> str:
    """The path of a repository's index of days, unsigned."""
    return f"/repos/{quote(repo)}"


def signed(path: str, signer: LinkSigner, resource: str, repo: str) -> str:
    """`path` with the signature parameters for `resource` (unchanged for a public repo)."""
    extra = signer.query(resource, repo)
    return path + (("&" if "?" in path else "?") + urlencode(extra) if extra else "")


def page_url(signer: LinkSigner, digest: RepoDigest) -> str:
    """A (signed) path to a digest's page."""
    day = digest.day.isoformat()
    path = page_path(digest.repo, day, digest.tz, digest.language)
    resource = page_resource(digest.repo, day, digest.tz, digest.language)
    return signed(path, signer, resource, digest.repo)


def index_url(signer: LinkSigner, repo: str) -> str:
    """A (signed) path to a repository's index of days."""
    return signed(index_path(repo), signer, index_resource(repo), repo)


@dataclass(frozen=True)
class SignedReportLinks:
    """Implements bot.delivery.ReportLinks for chat posts."""

    base_url: str
    signer: LinkSigner

    def digest_url(self, digest: RepoDigest) -> str | None:
        """The page of a digest, signed when its repository is private."""
        return self.base_url.rstrip("/") + page_url(self.signer, digest)
