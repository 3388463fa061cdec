"""The case page's lifecycle actions: zdA verfügen, zdA (or a Stornierung) aufheben,
stornieren, umschreiben, a later arrival seen; and finding a case by a current or former
Aktenzeichen."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from rathaus.eakte import PREFIX
from rathaus.eakte.domain import Staff
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.records import LifecycleRefused

NOT_YOURS = "Dieser Vorgang gehört nicht zu Ihrer Organisationseinheit."


def routes(
    eakte: EAkte,
    member_of: Callable[[Request[Any, Any, Any]], Awaitable[Staff | None]],
    case_view: Callable[..., Awaitable[Template]],
) -> list[HTTPRouteHandler]:
    login = f"{PREFIX}/anmelden"

    async def act(
        request: Request[Any, Any, Any],
        case_id: str,
        form: str,
        data: dict[str, str],
        action: Callable[[Staff], Awaitable[Any]],
    ) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        try:
            await action(member)
        except PermissionError:
            raise PermissionDeniedException(NOT_YOURS) from None
        except LifecycleRefused as refused:
            return await case_view(member, case_id, lc_error=str(refused), lc_form=form, lc_entered=data)
        return Redirect(f"{PREFIX}/vorgaenge/{case_id}#lebenszyklus")

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/zda", include_in_schema=False)
    async def close(
        request: Request[Any, Any, Any], case_id: str, data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        return await act(
            request,
            case_id,
            "zda",
            data,
            lambda m: eakte.close_case(m, case_id, data.get("datum", ""), data.get("bewertung", "")),
        )

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/zda-aufheben", include_in_schema=False)
    async def reopen(
        request: Request[Any, Any, Any], case_id: str, data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        return await act(
            request, case_id, "aufheben", data, lambda m: eakte.reopen_case(m, case_id, data.get("grund", ""))
        )

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/stornierung", include_in_schema=False)
    async def cancel(
        request: Request[Any, Any, Any], case_id: str, data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        return await act(
            request, case_id, "storno", data, lambda m: eakte.cancel_case(m, case_id, data.get("grund", ""))
        )

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/umschreiben", include_in_schema=False)
    async def reassign(
        request: Request[Any, Any, Any], case_id: str, data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        return await act(
            request,
            case_id,
            "umschreiben",
            data,
            lambda m: eakte.reassign_case(m, case_id, data.get("ziel", ""), data.get("grund", "")),
        )

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/eingang-gesehen", include_in_schema=False)
    async def acknowledge(
        request: Request[Any, Any, Any], case_id: str, data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        return await act(request, case_id, "eingang", data, lambda m: eakte.acknowledge_arrival(m, case_id))

    @get(f"{PREFIX}/aktenzeichen/{{az:str}}", include_in_schema=False)
    async def by_aktenzeichen(request: Request[Any, Any, Any], az: str) -> Redirect:
        """A current or former Aktenzeichen leads to its case (whose page checks access)."""
        if await member_of(request) is None:
            return Redirect(login)
        case_id = await eakte.find_aktenzeichen(az)
        if case_id is None:
            raise NotFoundException(f"Das Aktenzeichen {az} ist nicht bekannt.")
        return Redirect(f"{PREFIX}/vorgaenge/{quote(case_id)}")

    return [close, reopen, cancel, reassign, acknowledge, by_aktenzeichen]
