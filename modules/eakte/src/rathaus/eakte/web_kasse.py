"""Staff pages of fees and appointments: refund tasks (Erstattungen) with a second
approver, the reconciliation (Zahlungsabgleich) with its CSV for the Stadtkasse, and the
day view of appointments per location with the check-in."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from rathaus.eakte import PREFIX
from rathaus.eakte.domain import (
    DECIDING_ROLES,
    FINDING_TEXT,
    REFUND_REASONS,
    TASK_STATUS_TEXT,
    DecisionRefused,
    Staff,
    euro,
)
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.handlers.appointments import APPOINTMENT_STATUS_TEXT

ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
NOT_YOURS = "Diese Erstattung gehört nicht zu Ihrer Organisationseinheit."
CASHIERS_ONLY = "Den Zahlungsabgleich sehen die Kasse und die Leitung."


def valid_day(text: str) -> str | None:
    if not ISO_DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def routes(
    eakte: EAkte,
    member_of: Callable[[Request[Any, Any, Any]], Awaitable[Staff | None]],
    page: Callable[..., Template],
) -> list[HTTPRouteHandler]:
    login = f"{PREFIX}/anmelden"

    # -- refunds ------------------------------------------------------------------------------

    async def refunds_page(member: Staff, **extra: Any) -> Template:
        return page(
            "erstattungen.html",
            member,
            tasks=await eakte.refund_tasks(member),
            reasons=REFUND_REASONS,
            task_status=TASK_STATUS_TEXT,
            euro=euro,
            may_act=member.role in DECIDING_ROLES,
            **{"error": None, "error_for": None, **extra},
        )

    @get(f"{PREFIX}/erstattungen", include_in_schema=False)
    async def refunds(request: Request[Any, Any, Any]) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        return await refunds_page(member)

    async def refund_step(
        request: Request[Any, Any, Any], refund_id: str, data: dict[str, str], approve: bool
    ) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        try:
            await eakte.refund_step(
                member, refund_id, amount=data.get("amount", ""), note=data.get("note", ""), approve=approve
            )
        except PermissionError:
            raise PermissionDeniedException(NOT_YOURS) from None
        except DecisionRefused as refused:
            return await refunds_page(
                member,
                error=str(refused),
                error_for=refund_id,
                amount=data.get("amount", ""),
                note=data.get("note", ""),
            )
        return Redirect(f"{PREFIX}/erstattungen")

    @post(f"{PREFIX}/erstattungen/{{refund_id:str}}/vorschlag", include_in_schema=False)
    async def propose(
        request: Request[Any, Any, Any], refund_id: str, data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        return await refund_step(request, refund_id, data, approve=False)

    @post(f"{PREFIX}/erstattungen/{{refund_id:str}}/genehmigung", include_in_schema=False)
    async def approve(
        request: Request[Any, Any, Any], refund_id: str, data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        return await refund_step(request, refund_id, data, approve=True)

    # -- reconciliation -----------------------------------------------------------------------

    async def cashier(request: Request[Any, Any, Any]) -> Staff | None:
        member = await member_of(request)
        if member is not None and not eakte.may_reconcile(member):
            raise PermissionDeniedException(CASHIERS_ONLY)
        return member

    async def reconciliation_page(member: Staff, **extra: Any) -> Template:
        return page(
            "zahlungsabgleich.html",
            member,
            findings=await eakte.findings(member),
            finding_text=FINDING_TEXT,
            euro=euro,
            today=date.today().isoformat(),
            **{"error": None, **extra},
        )

    @get(f"{PREFIX}/zahlungsabgleich", include_in_schema=False)
    async def reconciliation(request: Request[Any, Any, Any]) -> Template | Redirect:
        member = await cashier(request)
        if member is None:
            return Redirect(login)
        return await reconciliation_page(member)

    @post(f"{PREFIX}/zahlungsabgleich/{{pk:int}}/geklaert", include_in_schema=False)
    async def resolve(request: Request[Any, Any, Any], pk: int) -> Template | Redirect:
        member = await cashier(request)
        if member is None:
            return Redirect(login)
        try:
            await eakte.resolve_finding(member, pk)
        except DecisionRefused as refused:
            return await reconciliation_page(member, error=str(refused))
        return Redirect(f"{PREFIX}/zahlungsabgleich")

    @get(f"{PREFIX}/zahlungsabgleich/export", include_in_schema=False)
    async def export(request: Request[Any, Any, Any], tag: str = "") -> Response[bytes] | Template | Redirect:
        member = await cashier(request)
        if member is None:
            return Redirect(login)
        day = valid_day(tag)
        if day is None:
            return await reconciliation_page(member, error="Bitte wählen Sie einen Tag (TT.MM.JJJJ).")
        body = "\ufeff" + await eakte.stadtkasse_csv(member, day)
        return Response(
            body.encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="stadtkasse-{day}.csv"'},
        )

    # -- appointments ---------------------------------------------------------------------------

    async def appointments_page(member: Staff, location: str, day: str, **extra: Any) -> Template:
        return page(
            "termine.html",
            member,
            # every Bürgerbüro of the calendars, and any other a booking named
            locations=sorted(
                set(await eakte.locations())
                | {loc.id for loc in eakte.kernel.appointments.locations.values()}
            ),
            location=location,
            day=day,
            appointments=await eakte.day_view(member, location, day) if location else [],
            status_text=APPOINTMENT_STATUS_TEXT,
            **{"error": None, **extra},
        )

    @get(f"{PREFIX}/termine", include_in_schema=False)
    async def appointments(
        request: Request[Any, Any, Any], standort: str = "", tag: str = ""
    ) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        day = valid_day(tag) if tag else date.today().isoformat()
        if day is None:
            return await appointments_page(
                member, standort, date.today().isoformat(), error="Bitte geben Sie den Tag als Datum an."
            )
        return await appointments_page(member, standort[:64], day)

    @post(f"{PREFIX}/termine/{{appointment_id:str}}/eingecheckt", include_in_schema=False)
    async def check_in(
        request: Request[Any, Any, Any], appointment_id: str, data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        location, day = (
            data.get("standort", "")[:64],
            valid_day(data.get("tag", "")) or date.today().isoformat(),
        )
        try:
            await eakte.check_in(member, appointment_id)
        except DecisionRefused as refused:
            return await appointments_page(member, location, day, error=str(refused))
        return Redirect(f"{PREFIX}/termine?{urlencode({'standort': location, 'tag': day})}")

    return [refunds, propose, approve, reconciliation, resolve, export, appointments, check_in]
