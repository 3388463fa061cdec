"""The Aktenplan administration pages of the records manager (role registratur): the plan
as a tree, a new entry, one entry's page (rename, records fields, stilllegen/reaktivieren,
delete when unused). Other roles get 403."""

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
from rathaus.eakte.domain import AUSSONDERUNGSART_TEXT, RECORDS_MANAGER, Staff
from rathaus.eakte.handlers import EAkte, PlanRefused
from rathaus.eakte.records import LifecycleRefused

ONLY_RECORDS = "Den Aktenplan verwaltet die Registratur."


def routes(
    eakte: EAkte,
    member_of: Callable[[Request[Any, Any, Any]], Awaitable[Staff | None]],
    page: Callable[..., Template],
) -> list[HTTPRouteHandler]:
    login = f"{PREFIX}/anmelden"

    async def manager(request: Request[Any, Any, Any]) -> Staff | None:
        member = await member_of(request)
        if member is not None and member.role != RECORDS_MANAGER:
            raise PermissionDeniedException(ONLY_RECORDS)
        return member

    async def plan_page(member: Staff, **extra: Any) -> Template:
        context: dict[str, Any] = {"errors": {}, "entered": {}, "notice": ""}
        return page(
            "aktenplan.html",
            member,
            entries=await eakte.plan_tree(member),
            units=await eakte.unit_choices(),
            arten=AUSSONDERUNGSART_TEXT,
            **{**context, **extra},
        )

    async def entry_page(member: Staff, code: str, **extra: Any) -> Template:
        entry = await eakte.entry(member, code)
        if entry is None:
            raise NotFoundException(f"Den Aktenplaneintrag {code} gibt es nicht.")
        context: dict[str, Any] = {"errors": {}, "entered": {}, "problem": ""}
        return page(
            "aktenplan_eintrag.html",
            member,
            entry=entry,
            blockers=await eakte.deletion_check(member, code),
            arten=AUSSONDERUNGSART_TEXT,
            **{**context, **extra},
        )

    def entry_url(code: str) -> str:
        return f"{PREFIX}/aktenplan/eintrag/{quote(code)}"

    @get(f"{PREFIX}/aktenplan", include_in_schema=False)
    async def show(request: Request[Any, Any, Any], geaendert: str = "") -> Template | Redirect:
        member = await manager(request)
        if member is None:
            return Redirect(login)
        return await plan_page(member, notice=geaendert)

    @post(f"{PREFIX}/aktenplan", include_in_schema=False)
    async def add(
        request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        member = await manager(request)
        if member is None:
            return Redirect(login)
        try:
            code = await eakte.add_entry(member, data)
        except PlanRefused as refused:
            return await plan_page(member, errors=refused.errors, entered=data)
        return Redirect(f"{PREFIX}/aktenplan?geaendert={quote(code)}#eintrag-{quote(code)}")

    @get(f"{PREFIX}/aktenplan/eintrag/{{code:str}}", include_in_schema=False)
    async def show_entry(request: Request[Any, Any, Any], code: str) -> Template | Redirect:
        member = await manager(request)
        if member is None:
            return Redirect(login)
        return await entry_page(member, code)

    @post(f"{PREFIX}/aktenplan/eintrag/{{code:str}}", include_in_schema=False)
    async def change(
        request: Request[Any, Any, Any], code: str, data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        member = await manager(request)
        if member is None:
            return Redirect(login)
        try:
            await eakte.update_entry(member, code, data)
        except PlanRefused as refused:
            return await entry_page(member, code, errors=refused.errors, entered=data)
        except LookupError:
            raise NotFoundException(f"Den Aktenplaneintrag {code} gibt es nicht.") from None
        return Redirect(f"{PREFIX}/aktenplan?geaendert={quote(code)}#eintrag-{quote(code)}")

    async def switch(request: Request[Any, Any, Any], code: str, active: bool) -> Template | Redirect:
        member = await manager(request)
        if member is None:
            return Redirect(login)
        try:
            await eakte.set_active(member, code, active)
        except LifecycleRefused as refused:
            return await entry_page(member, code, problem=str(refused))
        except LookupError:
            raise NotFoundException(f"Den Aktenplaneintrag {code} gibt es nicht.") from None
        return Redirect(entry_url(code))

    @post(f"{PREFIX}/aktenplan/eintrag/{{code:str}}/stilllegen", include_in_schema=False)
    async def deactivate(request: Request[Any, Any, Any], code: str) -> Template | Redirect:
        return await switch(request, code, False)

    @post(f"{PREFIX}/aktenplan/eintrag/{{code:str}}/reaktivieren", include_in_schema=False)
    async def reactivate(request: Request[Any, Any, Any], code: str) -> Template | Redirect:
        return await switch(request, code, True)

    @post(f"{PREFIX}/aktenplan/eintrag/{{code:str}}/loeschen", include_in_schema=False)
    async def delete(request: Request[Any, Any, Any], code: str) -> Template | Redirect:
        member = await manager(request)
        if member is None:
            return Redirect(login)
        try:
            await eakte.delete_entry(member, code)
        except LifecycleRefused as refused:
            return await entry_page(member, code, problem=str(refused))
        except LookupError:
            raise NotFoundException(f"Den Aktenplaneintrag {code} gibt es nicht.") from None
        return Redirect(f"{PREFIX}/aktenplan?geaendert=geloescht")

    return [show, add, show_entry, change, deactivate, reactivate, delete]
