"""The catalogue of services (Leistungen) and the portal's legal pages: public."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from rathaus.contracts.procedures import all_procedures
from rathaus.portal import PREFIX
from rathaus.portal.domain import REGISTER_NAMES, by_lebenslage, search
from rathaus.portal.web.common import Pages


def routes(pages: Pages) -> list[HTTPRouteHandler]:
    @get(f"{PREFIX}/", include_in_schema=False)
    async def home(request: Request[Any, Any, Any], q: FromQuery[str] = "") -> Template:
        procedures = list(all_procedures().values())
        query = q.strip()[:100]
        return pages.render(
            "home.html",
            await pages.visitor(request),
            nav="leistungen",
            q=query,
            results=search(procedures, query) if query else None,
            groups=by_lebenslage(procedures),
        )

    @get(f"{PREFIX}/leistungen/{{service_id:str}}", include_in_schema=False)
    async def service(request: Request[Any, Any, Any], service_id: FromPath[str]) -> Template:
        proc = all_procedures().get(service_id)
        if proc is None:
            raise NotFoundException("Diese Leistung gibt es nicht.")
        return pages.render(
            "service.html",
            await pages.visitor(request),
            nav="leistungen",
            proc=proc,
            register_names=REGISTER_NAMES,
        )

    def legal_page(path: str, template: str) -> HTTPRouteHandler:
        @get(f"{PREFIX}{path}", include_in_schema=False, name=f"portal:{template}")
        async def page(request: Request[Any, Any, Any]) -> Template:
            return pages.render(template, await pages.visitor(request))

        return page

    return [
        home,
        service,
        legal_page("/barrierefreiheit", "barrierefreiheit.html"),
        legal_page("/datenschutz", "datenschutz.html"),
        legal_page("/impressum", "impressum.html"),
    ]
