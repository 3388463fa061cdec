"""Online appointments, the citizen's pages: service → location → day → time → hold →
contact data → booked; the appointment by its e-mail link or from the account ("Meine
Termine"). Every step is a plain page with links and forms (no JavaScript needed); the
reservation page adds a countdown with a warning and "Reservierung verlängern" (WCAG 2.2.1),
the time page a proof-of-work challenge that the browser solves with Web Crypto."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rathaus.platform.kernel.appointments import Location
from rathaus.portal import PREFIX
from rathaus.portal.domain.accounts import Account
from rathaus.portal.domain.appointments import (
    MSG_BAD_SLOT,
    MSG_HOLD_EXPIRED,
    MSG_NO_APPOINTMENT,
    MSG_NO_SERVICE,
    MSG_NOT_YOUR_CASE,
    STATUS_TEXT,
    check_contact,
    local,
    long_date,
    parse_start,
    slot_key,
    weeks,
    when_text,
)
from rathaus.portal.handlers import Portal
from rathaus.portal.handlers.appointments import HoldExpired, Refused, Row
from rathaus.portal.web.common import Pages, Visitor
from rathaus.portal.web.konto import form_of

BASE = f"{PREFIX}/termine"
HOLDS = "termine"  # session key: appointment id -> hold token of this browser
TEXTS = {
    "msg_abgelaufen": MSG_HOLD_EXPIRED,
    "termin_status": STATUS_TEXT,
    "wann": when_text,
    "langes_datum": long_date,
}


def ip_of(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unbekannt"


def number(text: str | None, default: int = 1) -> int:
    try:
        return int(text or default)
    except ValueError:
        return 0


@dataclass(frozen=True)
class Choice:
    """What the citizen chose so far, carried from page to page in the query."""

    service_id: str
    persons: int = 1
    case_id: str = ""  # the application the appointment belongs to
    instead: str = ""  # rebooking: the link token of the appointment it replaces
    instead_id: str = ""  # … or its id (from the account)

    def query(self, **more: Any) -> str:
        params = {
            "personen": self.persons,
            "fall": self.case_id,
            "statt": self.instead,
            "statt_id": self.instead_id,
        }
        params.update(more)
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})


def needs_visit(portal: Portal, row: Row) -> bool:
    """Does the application's service (its version) need a visit that can be booked here?"""
    procedures = portal.kernel.procedures
    try:
        definition = (
            procedures.get(row["service_id"], row["service_version"]) if row.get("service_version") else None
        )
    except KeyError:
        definition = None
    definition = definition or procedures.current(row["service_id"])
    return bool(
        definition and definition.procedure.appointment and portal.calendars.for_service(row["service_id"])
    )


async def appointments_of_cases(portal: Portal, account: Account | None, rows: list[Row]) -> dict[str, Any]:
    """For "Meine Anträge" and an application's page: the appointments of these cases and
    which of them can book one ("Termin buchen")."""
    if account is None:
        return {}
    cases = {r["case_id"] for r in rows}
    mine = [a for a in await portal.of_account(account) if a["case_id"] in cases]
    return {
        "case_appointments": mine,
        "needs_appointment_services": {r["service_id"] for r in rows if needs_visit(portal, r)},
        "needs_appointment": len(rows) == 1 and needs_visit(portal, rows[0]),
        **TEXTS,
    }


def routes(pages: Pages) -> list[HTTPRouteHandler]:
    portal = pages.portal
    calendars = portal.kernel.appointments

    def render(name: str, visitor: Visitor, *, status_code: int = 200, **context: Any) -> Template:
        out = pages.render(
            name, visitor, status_code=status_code, nav="termine", **TEXTS, calendars=calendars, **context
        )
        out.headers["Cache-Control"] = "no-store"
        return out

    def refused(visitor: Visitor, error: Refused, back: str = BASE) -> Template:
        out = render(
            "termine_hinweis.html", visitor, status_code=error.status, message=error.message, back=back
        )
        if error.retry_after:
            out.headers["Retry-After"] = str(error.retry_after)
        return out

    async def choice_of(
        request: Request[Any, Any, Any], visitor: Visitor, service_id: str, query: dict[str, str]
    ) -> Choice:
        """The choice from the query, checked: the service is bookable, a case is the
        account's and needs a visit, a rebooking's old appointment is the citizen's."""
        if not calendars.for_service(service_id):
            raise Refused(MSG_NO_SERVICE, 404)
        choice = Choice(service_id, number(query.get("personen")), query.get("fall", "")[:36])
        if choice.case_id:
            app = await portal.application(visitor.account, choice.case_id) if visitor.account else None
            if app is None or app["service_id"] != service_id:
                raise Refused(MSG_NOT_YOUR_CASE, 403)
        old = await replaced(visitor, query.get("statt", ""), query.get("statt_id", ""))
        if old is not None:
            if old["service_id"] != service_id:
                raise Refused(MSG_NO_SERVICE, 400)
            return Choice(
                service_id, choice.persons, old["case_id"], query.get("statt", ""), query.get("statt_id", "")
            )
        return choice

    async def replaced(visitor: Visitor, token: str, appointment_id: str) -> Row | None:
        if not token and not appointment_id:
            return None
        row = await portal.by_token(token) if token else None
        if row is None and appointment_id and visitor.account is not None:
            row = await portal.of_account_by_id(visitor.account, appointment_id[:36])
        if row is None or not portal.changeable(row):
            raise Refused(MSG_NO_APPOINTMENT, 404)
        return row

    def holds_of(request: Request[Any, Any, Any]) -> dict[str, str]:
        found = request.session.get(HOLDS) if request.session else None
        return dict(found) if isinstance(found, dict) else {}

    def keep_hold(request: Request[Any, Any, Any], appointment_id: str, token: str) -> None:
        holds = [*list(holds_of(request).items())[-2:], (appointment_id, token)]
        request.set_session({**(request.session or {}), HOLDS: dict(holds)})

    # -- choosing ----------------------------------------------------------------------------------

    @get(BASE, include_in_schema=False)
    async def services(request: Request[Any, Any, Any], fall: FromQuery[str] = "") -> Template | Redirect:
        visitor = await pages.visitor(request)
        if fall and visitor.account is not None:
            app = await portal.application(visitor.account, fall[:36])
            if app is not None and calendars.for_service(app["service_id"]):
                return Redirect(
                    f"{BASE}/{app['service_id']}?{Choice(app['service_id'], case_id=app['case_id']).query()}",
                    status_code=303,
                )
        return render("termine_leistungen.html", visitor, services=calendars.services())

    @get(f"{BASE}/{{service_id:str}}", include_in_schema=False)
    async def locations(request: Request[Any, Any, Any], service_id: FromPath[str]) -> Template:
        visitor = await pages.visitor(request)
        try:
            choice = await choice_of(request, visitor, service_id, dict(request.query_params))
        except Refused as error:
            return refused(visitor, error)
        return render(
            "termine_standorte.html", visitor, choice=choice, locations=calendars.for_service(service_id)
        )

    async def located(
        request: Request[Any, Any, Any], visitor: Visitor, service_id: str, location_id: str
    ) -> tuple[Choice, Location]:
        choice = await choice_of(request, visitor, service_id, dict(request.query_params))
        loc = portal.location_for(service_id, location_id)
        offer = loc.offer(service_id)
        assert offer is not None
        if not 1 <= choice.persons <= offer.max_persons:
            raise Refused(f"Sie können für 1 bis {offer.max_persons} Personen buchen.", 400)
        await portal.guard_query(ip_of(request), visitor.account)
        return choice, loc

    @get(f"{BASE}/{{service_id:str}}/{{location_id:str}}", include_in_schema=False)
    async def days(
        request: Request[Any, Any, Any], service_id: FromPath[str], location_id: FromPath[str]
    ) -> Template:
        visitor = await pages.visitor(request)
        try:
            choice, loc = await located(request, visitor, service_id, location_id)
        except Refused as error:
            return refused(visitor, error, f"{BASE}/{service_id}")
        free = dict(await portal.free_days(loc, service_id, choice.persons))
        return render(
            "termine_tage.html", visitor, choice=choice, loc=loc, weeks=weeks(list(free)), free=free,
            offer=loc.offer(service_id),
        )  # fmt: skip

    async def times_page(
        request: Request[Any, Any, Any], visitor: Visitor, choice: Choice, loc: Location, day: date,
        error: Refused | None = None,
    ) -> Template:  # fmt: skip
        starts = await portal.free_starts(loc, choice.service_id, day, choice.persons)
        out = render(
            "termine_zeiten.html", visitor, status_code=error.status if error else 200, choice=choice, loc=loc,
            day=day, starts=starts, slot_key=slot_key, challenge=portal.challenge(), error=error.message if error else "",
        )  # fmt: skip
        if error is not None and error.retry_after:
            out.headers["Retry-After"] = str(error.retry_after)
        return out

    @get(f"{BASE}/{{service_id:str}}/{{location_id:str}}/{{day:str}}", include_in_schema=False)
    async def times(
        request: Request[Any, Any, Any],
        service_id: FromPath[str],
        location_id: FromPath[str],
        day: FromPath[str],
    ) -> Template:
        visitor = await pages.visitor(request)
        try:
            choice, loc = await located(request, visitor, service_id, location_id)
            chosen = date.fromisoformat(day)
        except Refused as error:
            return refused(visitor, error, f"{BASE}/{service_id}")
        except ValueError:
            return refused(visitor, Refused("Dieses Datum gibt es nicht.", 404), f"{BASE}/{service_id}")
        return await times_page(request, visitor, choice, loc, chosen)

    # -- holding and booking -------------------------------------------------------------------------

    @post(f"{BASE}/reservieren", include_in_schema=False)
    async def reserve(request: Request[Any, Any, Any]) -> Template | Redirect:
        visitor = await pages.visitor(request)
        data = await form_of(request)
        service_id, location_id = data.get("leistung", ""), data.get("standort", "")
        try:
            choice = await choice_of(request, visitor, service_id, data)
            loc = portal.location_for(service_id, location_id)
        except Refused as error:
            return refused(visitor, error)
        start = parse_start(data.get("beginn", ""))
        day = start.date() if start else datetime.now(UTC).date()
        try:
            if start is None:
                raise Refused(MSG_BAD_SLOT, 400)
            await portal.guard_booking(
                ip_of(request), visitor.account, data.get("challenge", ""), data.get("nonce", "")
            )
            old = await replaced(visitor, choice.instead, choice.instead_id)
            appointment_id, token = await portal.hold(
                service_id=service_id,
                location_id=loc.id,
                start=start,
                persons=choice.persons,
                account=visitor.account,
                case_id=choice.case_id,
                rebook_of=old["appointment_id"] if old else None,
            )
        except Refused as error:
            return await times_page(request, visitor, choice, loc, day, error)
        keep_hold(request, appointment_id, token)
        return Redirect(f"{BASE}/reservierung/{appointment_id}", status_code=303)

    async def held(request: Request[Any, Any, Any], appointment_id: str) -> Row:
        return await portal.held(appointment_id, holds_of(request).get(appointment_id, ""))

    def hold_page(
        visitor: Visitor, row: Row, *, status_code: int = 200, errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None, expired: bool = False, free_again: bool = False,
    ) -> Template:  # fmt: skip
        account = visitor.account
        defaults = (
            {"name": f"{account.given_name} {account.family_name}", "email": account.email} if account else {}
        )
        return render(
            "termine_reservierung.html", visitor, status_code=status_code, row=row,
            loc=calendars.location(row["location_id"]), errors=errors or {}, values=values or defaults,
            expired=expired, free_again=free_again, max_extensions=calendars.protection.max_extensions,
        )  # fmt: skip

    @get(f"{BASE}/reservierung/{{appointment_id:str}}", include_in_schema=False)
    async def hold_form(request: Request[Any, Any, Any], appointment_id: FromPath[str]) -> Template:
        visitor = await pages.visitor(request)
        try:
            row = await held(request, appointment_id)
        except Refused as error:
            return refused(visitor, error)
        if row["status"] != "held":
            return refused(
                visitor,
                Refused(
                    "Dieser Termin ist schon gebucht. Den Link zum Termin finden Sie in Ihrer E-Mail.", 409
                ),
            )
        expired = row["hold_until"] <= datetime.now(UTC).isoformat(timespec="microseconds")
        return hold_page(visitor, row, expired=expired, free_again=expired and await portal.is_free(row))

    @post(f"{BASE}/reservierung/{{appointment_id:str}}/verlaengern", include_in_schema=False)
    async def extend(
        request: Request[Any, Any, Any], appointment_id: FromPath[str]
    ) -> Response[Any] | Template | Redirect:
        visitor = await pages.visitor(request)
        wants_json = "application/json" in request.headers.get("accept", "")
        try:
            until = await portal.extend(appointment_id, holds_of(request).get(appointment_id, ""))
        except Refused as error:
            if wants_json:
                return Response({"detail": error.message}, status_code=error.status)
            if isinstance(error, HoldExpired) and error.row is not None:
                return hold_page(
                    visitor,
                    error.row,
                    status_code=410,
                    expired=True,
                    free_again=await portal.is_free(error.row),
                )
            return refused(visitor, error)
        if wants_json:
            return Response({"hold_until": until}, status_code=200, headers={"Cache-Control": "no-store"})
        return Redirect(f"{BASE}/reservierung/{appointment_id}?verlaengert=1", status_code=303)

    @post(f"{BASE}/reservierung/{{appointment_id:str}}", include_in_schema=False)
    async def confirm(request: Request[Any, Any, Any], appointment_id: FromPath[str]) -> Template | Redirect:
        visitor = await pages.visitor(request)
        data = await form_of(request)
        values = {"name": data.get("name", "")[:100], "email": data.get("email", "")[:200]}
        try:
            row = await held(request, appointment_id)
        except Refused as error:
            return refused(visitor, error)
        errors = check_contact(values["name"], values["email"])
        if errors:
            return hold_page(visitor, row, status_code=400, errors=errors, values=values)
        try:
            booked = await portal.confirm(
                appointment_id,
                holds_of(request)[appointment_id],
                values["name"],
                values["email"],
                visitor.account,
                held=row,
            )
        except HoldExpired as error:
            assert error.row is not None
            return hold_page(
                visitor,
                error.row,
                status_code=410,
                values=values,
                expired=True,
                free_again=await portal.is_free(error.row),
            )
        except Refused as error:
            return refused(visitor, error)
        request.set_session({k: v for k, v in (request.session or {}).items() if k != HOLDS})
        return Redirect(f"{BASE}/verwalten/{booked.token}?neu=1", status_code=303)

    @post(f"{BASE}/reservierung/{{appointment_id:str}}/erneut", include_in_schema=False)
    async def again(request: Request[Any, Any, Any], appointment_id: FromPath[str]) -> Template | Redirect:
        """An expired hold: reserve the same slot again, if it is still free."""
        visitor = await pages.visitor(request)
        try:
            row = await held(request, appointment_id)
            await portal.guard_booking(ip_of(request), visitor.account, "", "")
            new_id, token = await portal.hold(
                service_id=row["service_id"], location_id=row["location_id"], start=local(row["starts_at"]),
                persons=row["persons"], account=visitor.account, case_id=row["case_id"], rebook_of=row["rebook_of"],
            )  # fmt: skip
        except Refused as error:
            return refused(visitor, error)
        keep_hold(request, new_id, token)
        return Redirect(f"{BASE}/reservierung/{new_id}", status_code=303)

    # -- the booked appointment ------------------------------------------------------------------------

    def appointment_page(
        visitor: Visitor,
        row: Row,
        actions: str,
        *,
        fresh: bool = False,
        status_code: int = 200,
        error: str = "",
    ) -> Template:
        return render(
            "termine_termin.html", visitor, status_code=status_code, row=row, loc=calendars.location(row["location_id"]),
            actions=actions, fresh=fresh, changeable=portal.changeable(row), error=error,
        )  # fmt: skip

    def calendar_response(row: Row) -> Response[bytes]:
        return Response(
            portal.calendar_file(row),
            media_type="text/calendar; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="termin.ics"', "Cache-Control": "no-store"},
        )

    @get(f"{BASE}/verwalten/{{token:str}}", include_in_schema=False)
    async def managed(
        request: Request[Any, Any, Any],
        token: FromPath[str],
        neu: FromQuery[str] = "",
    ) -> Template:
        visitor = await pages.visitor(request)
        row = await portal.by_token(token)
        if row is None:
            return refused(visitor, Refused(MSG_NO_APPOINTMENT, 404))
        return appointment_page(visitor, row, f"{BASE}/verwalten/{token}", fresh=bool(neu))

    @get(f"{BASE}/verwalten/{{token:str}}/termin.ics", include_in_schema=False)
    async def managed_ics(
        request: Request[Any, Any, Any], token: FromPath[str]
    ) -> Response[bytes] | Template:
        row = await portal.by_token(token)
        if row is None:
            return refused(await pages.visitor(request), Refused(MSG_NO_APPOINTMENT, 404))
        return calendar_response(row)

    @post(f"{BASE}/verwalten/{{token:str}}/absagen", include_in_schema=False)
    async def managed_cancel(request: Request[Any, Any, Any], token: FromPath[str]) -> Template | Redirect:
        visitor = await pages.visitor(request)
        row = await portal.by_token(token)
        if row is None:
            return refused(visitor, Refused(MSG_NO_APPOINTMENT, 404))
        try:
            await portal.cancel(row)
        except Refused as error:
            return appointment_page(
                visitor, row, f"{BASE}/verwalten/{token}", status_code=error.status, error=error.message
            )
        return Redirect(f"{BASE}/verwalten/{token}?abgesagt=1", status_code=303)

    @get(f"{PREFIX}/konto/termine", include_in_schema=False)
    async def mine(request: Request[Any, Any, Any]) -> Template:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        return render(
            "termine_konto.html",
            visitor,
            rows=await portal.of_account(visitor.account),
            now_key=slot_key(datetime.now(UTC)),
        )

    async def own(request: Request[Any, Any, Any], appointment_id: str) -> tuple[Visitor, Row | None]:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        return visitor, await portal.of_account_by_id(visitor.account, appointment_id[:36])

    @get(f"{PREFIX}/konto/termine/{{appointment_id:str}}", include_in_schema=False)
    async def my_one(request: Request[Any, Any, Any], appointment_id: FromPath[str]) -> Template:
        visitor, row = await own(request, appointment_id)
        if row is None:
            return refused(visitor, Refused(MSG_NO_APPOINTMENT, 404), f"{PREFIX}/konto/termine")
        return appointment_page(visitor, row, f"{PREFIX}/konto/termine/{appointment_id}")

    @get(f"{PREFIX}/konto/termine/{{appointment_id:str}}/termin.ics", include_in_schema=False)
    async def my_ics(
        request: Request[Any, Any, Any], appointment_id: FromPath[str]
    ) -> Response[bytes] | Template:
        visitor, row = await own(request, appointment_id)
        if row is None:
            return refused(visitor, Refused(MSG_NO_APPOINTMENT, 404), f"{PREFIX}/konto/termine")
        return calendar_response(row)

    @post(f"{PREFIX}/konto/termine/{{appointment_id:str}}/absagen", include_in_schema=False)
    async def my_cancel(
        request: Request[Any, Any, Any], appointment_id: FromPath[str]
    ) -> Template | Redirect:
        visitor, row = await own(request, appointment_id)
        if row is None:
            return refused(visitor, Refused(MSG_NO_APPOINTMENT, 404), f"{PREFIX}/konto/termine")
        try:
            await portal.cancel(row)
        except Refused as error:
            return appointment_page(
                visitor,
                row,
                f"{PREFIX}/konto/termine/{appointment_id}",
                status_code=error.status,
                error=error.message,
            )
        return Redirect(f"{PREFIX}/konto/termine/{appointment_id}?abgesagt=1", status_code=303)

    return [
        services, locations, days, times, reserve, hold_form, extend, confirm, again,
        managed, managed_ics, managed_cancel, mine, my_one, my_ics, my_cancel,
    ]  # fmt: skip
