"""Report routes: HTML pages, a per-repository index and a JSON API; signed for private repos."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from adapters.web.links import LinkSigner, index_resource, index_url, page_resource, page_url
from adapters.web.pages import CSP, render_index, render_page
from bot.models import RepoDigest
from bot.ports import DigestArchive
from bot.report import anchor_of

# Signed URLs must not leak through the Referer header, nor sit in shared caches.
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}
REFUSED = "This report needs the signed link from the chat post (or it has expired)."


def _entries(digest: RepoDigest) -> list[dict[str, Any]]:
    return [
        {
            "sha": e.commit.sha,
            "title": e.commit.title,
            "author": e.commit.author,
            "committed_at": e.commit.committed_at.isoformat(),
            "url": e.commit.url,
            "anchor": anchor_of(e),
            "severity": e.analysis.severity.value,
            "change_type": e.analysis.change_type,
            "summary": e.analysis.summary,
            "risks": list(e.analysis.risks),
            "recommendations": list(e.analysis.recommendations),
        }
        for e in digest.entries
    ]


def _summary(digest: RepoDigest, signer: LinkSigner) -> dict[str, Any]:
    return {
        "repo": digest.repo,
        "day": digest.day.isoformat(),
        "tz": digest.tz,
        "language": digest.language,
        "counts": {s.value: n for s, n in digest.counts().items()},
        "url": page_url(signer, digest),
    }


class ReportRoutes:
    """The page, index and JSON handlers over an archive of digests."""

    def __init__(self, archive: DigestArchive, signer: LinkSigner) -> None:
        self._archive = archive
        self._signer = signer

    def routes(self) -> list[Route]:
        """Starlette routes; the day comes first because repository names contain slashes."""
        return [
            Route("/reports/{day}/{repo:path}", self.page),
            Route("/repos/{repo:path}", self.index),
            Route("/api/reports/{day}/{repo:path}", self.page_json),
            Route("/api/repos/{repo:path}", self.index_json),
        ]

    async def _load(self, request: Request) -> RepoDigest | Response:
        repo, params = request.path_params["repo"], request.query_params
        tz, lang = params.get("tz", ""), params.get("lang", "")
        try:
            day = date.fromisoformat(request.path_params["day"])
        except ValueError:
            return Response("Not a date.", status_code=404)
        if not self._signer.allows(page_resource(repo, day.isoformat(), tz, lang), repo, params):
            return Response(REFUSED, status_code=403, headers=_HEADERS)
        digest = await self._archive.get_digest(repo, day, tz, lang) if tz and lang else None
        return digest if digest is not None else Response("No such digest.", status_code=404)

    async def _listed(self, request: Request) -> list[RepoDigest] | Response:
        repo = request.path_params["repo"]
        if not self._signer.allows(index_resource(repo), repo, request.query_params):
            return Response(REFUSED, status_code=403, headers=_HEADERS)
        return await self._archive.list_digests(repo)

    async def page(self, request: Request) -> Response:
        """A digest's full report as HTML."""
        found = await self._load(request)
        if isinstance(found, Response):
            return found
        index = index_url(self._signer, found.repo)
        return HTMLResponse(render_page(found, index), headers=_HEADERS)

    async def page_json(self, request: Request) -> Response:
        """The same digest as JSON."""
        found = await self._load(request)
        if isinstance(found, Response):
            return found
        body = {**_summary(found, self._signer), "overview": found.overview}
        return JSONResponse({**body, "entries": _entries(found)}, headers=_HEADERS)

    async def index(self, request: Request) -> Response:
        """A repository's days as HTML."""
        found = await self._listed(request)
        if isinstance(found, Response):
            return found
        rows = [(d, page_url(self._signer, d)) for d in found]
        return HTMLResponse(render_index(request.path_params["repo"], rows), headers=_HEADERS)

    async def index_json(self, request: Request) -> Response:
        """A repository's days as JSON."""
        found = await self._listed(request)
        if isinstance(found, Response):
            return found
        return JSONResponse([_summary(d, self._signer) for d in found], headers=_HEADERS)
