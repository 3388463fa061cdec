"""Staff pages of records management: hand a Vorgang to another authority (Abgabe) and the
list of running, finished and incoming handovers; the data-protection restriction of a case
and the Akteneinsicht export with real redaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import ClientException, NotAuthorizedException, PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from rathaus.eakte import PREFIX
from rathaus.eakte.domain import Staff
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.handlers.abgabe import FILENAME_HEADER, AbgabeRefused
from rathaus.eakte.handlers.datenschutz import DatenschutzRefused

NOT_YOURS = "Dieser Vorgang gehört nicht zu Ihrer Organisationseinheit."
MAX_CONTAINER_BYTES = 512 * 1024 * 1024


def routes(
    eakte: EAkte,
    member_of: Callable[[Request[Any, Any, Any]], Awaitable[Staff | None]],
    page: Callable[..., Template],
    case_view: Callable[..., Awaitable[Template]],
) -> list[HTTPRouteHandler]:
    login = f"{PREFIX}/anmelden"

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/abgabe", include_in_schema=False)
    async def hand_over(
        request: Request[Any, Any, Any], case_id: str, data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        partner = data.get("partner", "")
        try:
            if data.get("bestaetigt") != "ja":
                raise AbgabeRefused(
                    "Bitte bestätigen Sie, dass der Vorgang mit allen Dokumenten abgegeben werden soll."
                )
            await eakte.start_abgabe(member, case_id, partner)
        except PermissionError:
            raise PermissionDeniedException(NOT_YOURS) from None
        except AbgabeRefused as refused:
            return await case_view(member, case_id, abgabe_error=str(refused), abgabe_partner=partner)
        return Redirect(f"{PREFIX}/vorgaenge/{case_id}#abgabe")

    @get(f"{PREFIX}/abgaben", include_in_schema=False)
    async def handovers(request: Request[Any, Any, Any]) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        return page("abgaben.html", member, **await eakte.abgaben_of(member))

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/datenschutz", include_in_schema=False)
    async def restrict(
        request: Request[Any, Any, Any], case_id: str, data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        try:
            await eakte.restrict_processing(
                member, case_id, reference=data.get("reference", ""), reason=data.get("reason", "")
            )
        except PermissionError:
            raise PermissionDeniedException(NOT_YOURS) from None
        except DatenschutzRefused as refused:
            return await case_view(
                member,
                case_id,
                datenschutz_error=str(refused),
                datenschutz_form={k: data.get(k, "") for k in ("reference", "reason")},
            )
        return Redirect(f"{PREFIX}/vorgaenge/{case_id}#datenschutz")

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/akteneinsicht", include_in_schema=False)
    async def inspection(
        request: Request[Any, Any, Any], case_id: str, data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect | Response[bytes]:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        try:
            name, pdf = await eakte.akteneinsicht(member, case_id, data.get("schwaerzungen", ""))
        except PermissionError:
            raise PermissionDeniedException(NOT_YOURS) from None
        except DatenschutzRefused as refused:
            return await case_view(
                member, case_id, einsicht_error=str(refused), einsicht_terms=data.get("schwaerzungen", "")
            )
        return Response(
            pdf,
            status_code=200,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )

    @post(
        f"{PREFIX}/api/xdomea/{{partner:str}}",
        status_code=202,
        request_max_body_size=MAX_CONTAINER_BYTES,
        include_in_schema=False,
    )
    async def xdomea_inbox(request: Request[Any, Any, Any], partner: str) -> dict[str, str]:
        """A partner authority delivers an xdomea container (the Abgabe's HTTP transport):
        bearer token of the partner, file name in ``X-Xdomea-Dateiname``, the zip as body.
        It is read like a file in the partner's transfer directory."""
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        name = request.headers.get(FILENAME_HEADER, "")
        try:
            await eakte.accept_posted(partner, token, name, await request.body())
        except PermissionError:
            raise NotAuthorizedException("unknown partner or wrong token") from None
        except AbgabeRefused as refused:
            raise ClientException(str(refused), status_code=400) from None
        return {"angenommen": name}

    return [hand_over, handovers, restrict, inspection, xdomea_inbox]
