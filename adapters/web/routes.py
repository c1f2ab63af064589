"""Report routes: HTML pages, a per-repository index and a JSON API; signed for private repos."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from adapters.web.limits import SECURITY_HEADERS as _HEADERS
from adapters.web.links import (
    Grant,
    LinkSigner,
    index_resource,
    index_url,
    page_resource,
    page_url,
)
from adapters.web.pages import render_disagreements, render_index, render_page
from bot.feedback import Disagreement, Tally, VoteStore, add_disagreements, most_disputed
from bot.models import DigestSummary, RepoDigest
from bot.ports import DigestArchive
from bot.report import anchor_of

REFUSED = "This report needs the signed link from the chat post (or it has expired)."


def _entries(digest: RepoDigest, votes: dict[str, Tally] | None = None) -> list[dict[str, Any]]:
    tallies = votes or {}
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
            "votes": _votes(tallies.get(e.commit.sha)),
        }
        for e in digest.entries
    ]


def _votes(tally: Tally | None) -> dict[str, int]:
    return {"up": tally.up if tally else 0, "down": tally.down if tally else 0}


def _summary(
    digest: RepoDigest | DigestSummary, signer: LinkSigner, grant: Grant
) -> dict[str, Any]:
    return {
        "repo": digest.repo,
        "day": digest.day.isoformat(),
        "tz": digest.tz,
        "language": digest.language,
        "counts": {s.value: n for s, n in digest.counts().items()},
        "url": page_url(signer, digest, grant),
    }


class ReportRoutes:
    """The page, index and JSON handlers over an archive of digests (and its votes, if kept)."""

    def __init__(
        self, archive: DigestArchive, signer: LinkSigner, votes: VoteStore | None = None
    ) -> None:
        self._archive = archive
        self._signer = signer
        self._votes = votes

    def routes(self) -> list[Route]:
        """Starlette routes; the day comes first because repository names contain slashes."""
        return [
            Route("/reports/{day}/{repo:path}", self.page),
            Route("/repos/{repo:path}", self.index),
            Route("/api/reports/{day}/{repo:path}", self.page_json),
            Route("/api/repos/{repo:path}", self.index_json),
            Route("/disagreements/{repo:path}", self.disputed),
            Route("/api/disagreements/{repo:path}", self.disputed_json),
        ]

    async def _tallies(self, digest: RepoDigest) -> dict[str, Tally]:
        if self._votes is None:
            return {}
        return await self._votes.counts(digest.repo, [e.commit.sha for e in digest.entries])

    async def _load(self, request: Request) -> tuple[RepoDigest, Grant] | Response:
        repo, params = request.path_params["repo"], request.query_params
        tz, lang = params.get("tz", ""), params.get("lang", "")
        try:
            day = date.fromisoformat(request.path_params["day"])
        except ValueError:
            return Response("Not a date.", status_code=404)
        grant = self._signer.grant(page_resource(repo, day.isoformat(), tz, lang), repo, params)
        if grant is None:
            return Response(REFUSED, status_code=403, headers=_HEADERS)
        digest = await self._archive.get_digest(repo, day, tz, lang) if tz and lang else None
        if digest is None:
            return Response("No such digest.", status_code=404)
        return digest, grant

    def _granted(self, request: Request) -> tuple[str, Grant] | Response:
        """The repository of an index-signed request and its grant, or the refusal."""
        repo = request.path_params["repo"]
        grant = self._signer.grant(index_resource(repo), repo, request.query_params)
        if grant is None:
            return Response(REFUSED, status_code=403, headers=_HEADERS)
        return repo, grant

    async def _listed(self, request: Request) -> tuple[list[DigestSummary], Grant] | Response:
        granted = self._granted(request)
        if isinstance(granted, Response):
            return granted
        repo, grant = granted
        # Summary rows only: an index never reads a digest's entries.
        return await self._archive.list_summaries(repo), grant

    async def page(self, request: Request) -> Response:
        """A digest's full report as HTML; links to the index only if the request's link may."""
        found = await self._load(request)
        if isinstance(found, Response):
            return found
        digest, grant = found
        index = index_url(self._signer, digest.repo, grant)
        page = render_page(digest, index, await self._tallies(digest))
        return HTMLResponse(page, headers=_HEADERS)

    async def page_json(self, request: Request) -> Response:
        """The same digest as JSON."""
        found = await self._load(request)
        if isinstance(found, Response):
            return found
        digest, grant = found
        body = {**_summary(digest, self._signer, grant), "overview": digest.overview}
        entries = _entries(digest, await self._tallies(digest))
        return JSONResponse({**body, "entries": entries}, headers=_HEADERS)

    async def index(self, request: Request) -> Response:
        """A repository's days as HTML; each day's link expires with the index's own."""
        found = await self._listed(request)
        if isinstance(found, Response):
            return found
        summaries, grant = found
        rows = [(d, page_url(self._signer, d, grant)) for d in summaries]
        repo = request.path_params["repo"]
        disputed = self._disputed_url(repo, grant) if self._votes else None
        return HTMLResponse(render_index(repo, rows, disputed), headers=_HEADERS)

    async def index_json(self, request: Request) -> Response:
        """A repository's days as JSON."""
        found = await self._listed(request)
        if isinstance(found, Response):
            return found
        summaries, grant = found
        body = [_summary(d, self._signer, grant) for d in summaries]
        return JSONResponse(body, headers=_HEADERS)

    def _disputed_url(self, repo: str, grant: Grant) -> str:
        """The disagreements page, signed like the index that links to it."""
        signed = index_url(self._signer, repo, grant) or ""
        return signed.replace("/repos/", "/disagreements/", 1)

    async def _disagreements(self, request: Request) -> tuple[list[Disagreement], Grant] | Response:
        granted = self._granted(request)
        if isinstance(granted, Response):
            return granted
        repo, grant = granted
        votes = await self._votes.disputed(repo) if self._votes else {}
        found: dict[str, Disagreement] = {}
        # Only the days that list a disputed commit are read, one at a time, each let go of.
        for day in await self._archive.summaries_with(repo, list(votes)):
            digest = await self._archive.get_digest(day.repo, day.day, day.tz, day.language)
            if digest is not None:
                add_disagreements(found, digest, votes)
        return most_disputed(found), grant

    async def disputed(self, request: Request) -> Response:
        """The severity disagreements of a repository (opens with the index's link)."""
        found = await self._disagreements(request)
        if isinstance(found, Response):
            return found
        items, grant = found
        rows = [(d, page_url(self._signer, d.page, grant)) for d in items]
        page = render_disagreements(request.path_params["repo"], rows)
        return HTMLResponse(page, headers=_HEADERS)

    async def disputed_json(self, request: Request) -> Response:
        """The same disagreements as JSON."""
        found = await self._disagreements(request)
        if isinstance(found, Response):
            return found
        items, grant = found
        body = [
            {
                "sha": d.sha,
                "title": d.title,
                "severity": d.severity.value,
                "day": d.day.isoformat(),
                "votes": _votes(d.tally),
                "url": page_url(self._signer, d.page, grant),
            }
            for d in items
        ]
        return JSONResponse(body, headers=_HEADERS)
