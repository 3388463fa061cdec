"""The catalogue of services (Leistungen) and the portal's legal pages: public."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from rathaus.portal import PREFIX
from rathaus.portal.domain.catalogue import applicants_text, assurance_text, by_lebenslage, search
from rathaus.portal.domain.search import MAX_QUERY
from rathaus.portal.web.common import Pages


def routes(pages: Pages) -> list[HTTPRouteHandler]:
    procedures = pages.portal.kernel.procedures

    @get(f"{PREFIX}/", include_in_schema=False)
    async def home(request: Request[Any, Any, Any], q: FromQuery[str] = "") -> Template:
        offers = procedures.catalogue()
        query = " ".join(q.split())[:MAX_QUERY]
        return pages.render(
            "home.html",
            await pages.visitor(request),
            nav="leistungen",
            q=query,
            results=search(offers, query) if query else None,
            groups=by_lebenslage(offers),
            total=len(offers),
            online=sum(1 for o in offers if o.online),
        )

    @get(f"{PREFIX}/leistungen/{{service_id:str}}", include_in_schema=False)
    async def service(request: Request[Any, Any, Any], service_id: FromPath[str]) -> Template:
        visitor = await pages.visitor(request)
        offer = procedures.offer(service_id)
        if offer is None:  # a German page with the way back, not the generic error page
            return pages.render("service.html", visitor, status_code=404, nav="leistungen", offer=None)
        procedure = offer.definition.procedure if offer.definition else None
        return pages.render(
            "service.html",
            visitor,
            nav="leistungen",
            offer=offer,
            unit=procedures.units.get(offer.unit),
            assurance=assurance_text(procedure.assurance) if procedure else "",
            applicants=applicants_text(procedure.applicants) if procedure else [],
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
