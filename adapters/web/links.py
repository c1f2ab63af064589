"""Signed, expiring report links: private repositories' pages open only through them.

A link never renews itself: every link a page or an index hands out expires when the request's
own link does. A page link opens the repository's index only if the bot issued it with an
index signature (`isig`), i.e. when `[web] link_scope = "repo"`, or if it came from an index.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from bot.digest import wildcard_match
from bot.models import DigestSummary, RepoDigest

# At most 12 ASCII digits: `int()` of 5,000 digits raises, and str.isdigit() accepts "²".
_EXPIRY = re.compile(r"[0-9]{1,12}")


def _digest_of(secret: bytes, message: str) -> str:
    mac = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


@dataclass(frozen=True)
class Grant:
    """What a request's link allows: until when (None: a public repository) and the index."""

    expires: int | None
    opens_index: bool


PUBLIC = Grant(None, opens_index=True)


@dataclass(frozen=True)
class LinkSigner:
    """Signs a page's identity with an expiry; public repositories need no signature.

    `scope` is what a freshly issued (chat) link opens: its page only, or also the index.
    """

    secret: bytes
    public_repos: tuple[str, ...] = ()
    lifetime_seconds: int = 30 * 86400
    clock: Callable[[], float] = field(default=time.time)
    scope: str = "page"

    def is_public(self, repo: str) -> bool:
        """True for repositories listed as public (wildcards allowed)."""
        return any(wildcard_match(p, repo) for p in self.public_repos)

    def query(
        self, resource: str, repo: str, until: int | None = None, *, opens_index: bool = False
    ) -> dict[str, str]:
        """The signature parameters for a resource, expiring no later than `until`."""
        if self.is_public(repo):
            return {}
        own = int(self.clock()) + self.lifetime_seconds
        expires = own if until is None else min(own, until)
        found = {"exp": str(expires), "sig": self._sign(resource, expires)}
        if opens_index:
            found["isig"] = self._sign(index_resource(repo), expires)
        return found

    def grant(self, resource: str, repo: str, params: Mapping[str, str]) -> Grant | None:
        """What a request may open: None unless public or validly signed for `resource`."""
        if self.is_public(repo):
            return PUBLIC
        expires = params.get("exp", "")
        if not _EXPIRY.fullmatch(expires) or int(expires) < self.clock():
            return None
        moment = int(expires)
        if not self._matches(params.get("sig", ""), resource, moment):
            return None
        index = index_resource(repo)
        opens = resource == index or self._matches(params.get("isig", ""), index, moment)
        return Grant(moment, opens_index=opens)

    def allows(self, resource: str, repo: str, params: Mapping[str, str]) -> bool:
        """A public repository, or an unexpired, valid signature for exactly this resource."""
        return self.grant(resource, repo, params) is not None

    def _sign(self, resource: str, expires: int) -> str:
        return _digest_of(self.secret, f"{resource}|{expires}")

    def _matches(self, given: str, resource: str, expires: int) -> bool:
        # compare_digest refuses non-ASCII str: compare bytes, so any input is just "no".
        expected = self._sign(resource, expires).encode()
        return hmac.compare_digest(given.encode("utf-8", "replace"), expected)


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


def _with_query(path: str, extra: dict[str, str]) -> str:
    return path + (("&" if "?" in path else "?") + urlencode(extra) if extra else "")


def page_url(
    signer: LinkSigner, digest: RepoDigest | DigestSummary, within: Grant | None = None
) -> str:
    """A (signed) path to a digest's page: a fresh chat link, or one derived from a request."""
    day = digest.day.isoformat()
    path = page_path(digest.repo, day, digest.tz, digest.language)
    resource = page_resource(digest.repo, day, digest.tz, digest.language)
    if within is None:
        extra = signer.query(resource, digest.repo, opens_index=signer.scope == "repo")
    else:
        extra = signer.query(resource, digest.repo, within.expires, opens_index=within.opens_index)
    return _with_query(path, extra)


def index_url(signer: LinkSigner, repo: str, within: Grant) -> str | None:
    """The (signed) path to a repository's index, if the request's link may open it."""
    if not within.opens_index:
        return None
    return _with_query(index_path(repo), signer.query(index_resource(repo), repo, within.expires))


@dataclass(frozen=True)
class SignedReportLinks:
    """Implements bot.delivery.ReportLinks for chat posts."""

    base_url: str
    signer: LinkSigner

    def digest_url(self, digest: RepoDigest | DigestSummary) -> str | None:
        """The page of a digest, signed when its repository is private."""
        return self.base_url.rstrip("/") + page_url(self.signer, digest)
