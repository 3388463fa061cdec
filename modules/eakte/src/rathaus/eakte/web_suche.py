"""The staff search (Suche): a page and a JSON API over the search index, limited to what
the member's unit may see (the responsible unit, and units asked to co-sign a case)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from litestar import Request, get
from litestar.exceptions import ClientException
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect, Template

from rathaus.eakte import PREFIX
from rathaus.eakte.domain import STATUS_TEXT, Staff
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.search.engine import Hit, Results
from rathaus.eakte.search.indexer import SearchIndexer
from rathaus.eakte.search.query import QueryError, parse
from rathaus.eakte.store import aktenplan

PER_PAGE = 20
MAX_PAGE = 50
# query parameter -> index facet, in the order the page shows them
FILTERS = {"aktenplan": "aktenplan", "jahr": "year", "status": "status"}
FACET_TITLES = {"aktenplan": "Aktenplan", "jahr": "Jahr", "status": "Status"}

Member = Callable[[Request[Any, Any, Any]], Awaitable[Staff | None]]
ApiMember = Callable[[Request[Any, Any, Any]], Awaitable[Staff]]
Page = Callable[..., Template]


class Search:
    """One search as the page and the API see it: the query, filters, page and results."""

    def __init__(self, params: dict[str, str]) -> None:
        self.q = params.get("q", "").strip()
        self.filters = {name: params.get(name, "").strip()[:64] for name in FILTERS}
        try:
            self.page = min(MAX_PAGE, max(1, int(params.get("seite", "1") or "1")))
        except ValueError:
            self.page = 1
        self.error = ""
        self.results: Results | None = None

    def link(self, **change: str | int) -> str:
        params: dict[str, str | int] = {"q": self.q, **{k: v for k, v in self.filters.items() if v}}
        params.update(change)
        return f"{PREFIX}/suche?" + urlencode(
            {k: v for k, v in params.items() if v not in ("", 1) or k == "q"}
        )

    async def run(self, indexer: SearchIndexer, unit: str) -> None:
        if not self.q:
            return
        try:
            plan = parse(self.q)
            index_filters = {FILTERS[k]: v for k, v in self.filters.items() if v}
            self.results = await indexer.search(
                plan, unit, index_filters, limit=PER_PAGE, offset=(self.page - 1) * PER_PAGE
            )
        except QueryError as problem:
            self.error = str(problem)


async def plan_titles(eakte: EAkte) -> dict[str, str]:
    async with eakte.kernel.db.read() as s:
        return {r.code: r.title for r in await s.execute(sa.select(aktenplan.c.code, aktenplan.c.title))}


def facet_label(name: str, value: str, titles: dict[str, str]) -> str:
    if name == "aktenplan":
        return f"{value} {titles[value]}" if value in titles else value
    if name == "status":
        return STATUS_TEXT.get(value, value)
    return value


def hit_json(hit: Hit) -> dict[str, Any]:
    url = f"{PREFIX}/vorgaenge/{hit.case_id}"
    return {
        "art": hit.kind,
        "case_id": hit.case_id,
        "aktenzeichen": hit.aktenzeichen,
        "titel": hit.title,
        "akte": hit.akte_titel,
        "dokumentart": hit.document_type,
        "datum": hit.date,
        "status": hit.status,
        "aktenplan": hit.aktenplan,
        "jahr": hit.year,
        "ausschnitt": hit.snippet,  # HTML: escaped text, matches in <mark>
        "url": url if hit.kind == "vorgang" else f"{url}/dokumente/{hit.pk}/original",
    }


def routes(
    eakte: EAkte, indexer: SearchIndexer, member_of: Member, api_member: ApiMember, page: Page
) -> list[HTTPRouteHandler]:
    async def facets(search: Search) -> list[dict[str, Any]]:
        if search.results is None:
            return []
        titles = await plan_titles(eakte)
        out = []
        for param, name in FILTERS.items():
            values = sorted(search.results.facets.get(name, []), key=lambda v: (-v[1], v[0]))
            if name == "year":
                values.sort(key=lambda v: v[0], reverse=True)
            chosen = search.filters[param]
            out.append(
                {
                    "param": param,
                    "title": FACET_TITLES[param],
                    "chosen": chosen,
                    "chosen_label": facet_label(name, chosen, titles) if chosen else "",
                    "clear": search.link(**{param: ""}, seite=1),
                    "values": [
                        {
                            "value": value,
                            "label": facet_label(name, value, titles),
                            "count": count,
                            "link": search.link(**{param: value}, seite=1),
                        }
                        for value, count in values
                    ],
                }
            )
        return out

    @get(f"{PREFIX}/suche", include_in_schema=False)
    async def search_page(request: Request[Any, Any, Any]) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(f"{PREFIX}/anmelden")
        search = Search(dict(request.query_params))
        await search.run(indexer, member.unit)
        total = search.results.total if search.results else 0
        return page(
            "suche.html",
            member,
            search=search,
            results=search.results,
            facets=await facets(search),
            building=not indexer.ready,
            previous=search.link(seite=search.page - 1) if search.page > 1 else "",
            next=search.link(seite=search.page + 1)
            if total > search.page * PER_PAGE and search.page < MAX_PAGE
            else "",
            first=(search.page - 1) * PER_PAGE + 1,
        )

    @get(f"{PREFIX}/api/suche")
    async def api_search(request: Request[Any, Any, Any]) -> dict[str, Any]:
        """Full-text search over the Akten the caller's unit may see (HTTP Basic auth with a
        staff account): ``q`` (words, "phrases", prefixes like ``Bau*``, ``-ausgeschlossen``),
        filters ``aktenplan``, ``jahr``, ``status``, page ``seite``. A search that cannot be
        run answers 400 with a German message."""
        member = await api_member(request)
        search = Search(dict(request.query_params))
        if not search.q:
            raise ClientException("Bitte geben Sie einen Suchbegriff ein (Parameter q).", status_code=400)
        await search.run(indexer, member.unit)
        if search.error or search.results is None:
            raise ClientException(search.error, status_code=400)
        return {
            "q": search.q,
            "treffer": search.results.total,
            "seite": search.page,
            "je_seite": PER_PAGE,
            "index_im_aufbau": not indexer.ready,
            "ergebnisse": [hit_json(h) for h in search.results.hits],
            "facetten": {
                f["param"]: [
                    {"wert": v["value"], "name": v["label"], "anzahl": v["count"]} for v in f["values"]
                ]
                for f in await facets(search)
            },
        }

    return [search_page, api_search]
