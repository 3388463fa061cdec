"""Staff pages and API of the Geschäftsgang (a route from a Muster für Verfügung, the
addressee's step with a Stellungnahme, skip and withdraw), the Wiedervorlage and the
Vertretung. Thin: the handlers decide."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException, PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect, Template

from rathaus.eakte import PREFIX
from rathaus.eakte.domain import DECIDING_ROLES, SYSTEM, DecisionRefused, Staff
from rathaus.eakte.domain_gang import (
    ANSWER_TEXT,
    ANSWERS,
    CURRENT,
    DONE,
    MITZEICHNUNG,
    OBJECTED,
    ROLE_TEXT,
    ROUTE_TEXT,
    RUNNING,
    STATE_TEXT,
    STEP_KINDS,
    Step,
    Worker,
    addressed_to,
)
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.handlers.wiedervorlage import WIEDERVORLAGE_TEXT

NOT_YOURS = "Dieser Vorgang gehört nicht zu Ihrer Organisationseinheit."
NOT_ADDRESSED = "Dieser Schritt ist nicht an Sie oder Ihre Organisationseinheit gerichtet."
EMPTY_ROWS = 2
DRAFT_LABELS = {"granted": "Bewilligung", "refused": "Ablehnung"}

CaseView = Callable[..., Awaitable[Template]]


def drafted_rows(form: Any) -> list[dict[str, str]]:
    """The step rows of the route form (``step-<i>-<field>``); a row without a kind is empty."""
    rows = []
    for i in range(40):
        row = {
            k: str(form.get(f"step-{i}-{k}", "")).strip()
            for k in ("number", "kind", "unit", "person", "role", "instruction", "due")
        }
        if row["kind"]:
            rows.append(row)
    return rows


async def gang_context(eakte: EAkte, member: Staff, found: dict[str, Any], **form: Any) -> dict[str, Any]:
    """What the case page shows of the Geschäftsgang, the Wiedervorlage and the personal mark."""
    case = found["case"]
    async with eakte.kernel.db.read() as s:
        routes = await eakte.steps_of(s, case["case_id"])
    me = Worker(member.username, member.unit, member.role, member.acting_for)
    decided = found["decision"] is not None
    my_steps = []
    for route in routes:
        for row in route["steps"]:
            step = Step(
                row["number"], row["kind"], row["unit"], row["person"], row["role"], state=row["state"]
            )
            revisable = row["kind"] == MITZEICHNUNG and row["state"] == DONE and row["status"] == OBJECTED
            open_step = (row["state"] == CURRENT and route["status"] == RUNNING) or (
                revisable and not decided
            )
            if open_step and addressed_to(step, me) and row["kind"] != MITZEICHNUNG:
                my_steps.append({**row, "answers": ANSWERS[row["kind"]]})
    owner = found["access"] == "zustaendig" and member.role in DECIDING_ROLES
    running = any(r["status"] == RUNNING for r in routes)
    # the procedure's own Mitzeichnung (the system's) gives way to a Verfügung
    running_verfuegung = any(r["status"] == RUNNING and r["created_by"] != SYSTEM for r in routes)
    templates = eakte.route_templates(case)
    rows = form.pop("route_rows", None)
    if rows is None:
        rows = templates[0]["steps"] if templates else []
    docs: dict[str, str] = {}
    for d in found["documents"]:
        docs[d["document_id"]] = d["title"]
    return {
        "routes": routes,
        "my_steps": my_steps,
        "can_route": owner and not running_verfuegung,
        "can_steer": owner and running,
        "route_templates": templates,
        "route_rows": [{**r, "number": str(r.get("number", ""))} for r in rows],
        "empty_rows": EMPTY_ROWS,
        "route_documents": docs,
        "step_kinds": STEP_KINDS,
        "state_text": STATE_TEXT,
        "answer_text": ANSWER_TEXT,
        "role_text": ROLE_TEXT,
        "route_text": ROUTE_TEXT,
        "draft_labels": DRAFT_LABELS,
        "unit_names": eakte.unit_names(),
        "wiedervorlagen": await eakte.case_wiedervorlagen(member, case["case_id"]),
        "wiedervorlage_text": WIEDERVORLAGE_TEXT,
        "tomorrow": date.fromordinal(date.today().toordinal() + 1).isoformat(),
        "can_mark_personal": owner and not member.acting_for,
        "gang_error": None,
        "step_error": None,
        "wv_error": None,
        "route_form": {},
        **form,
    }


def routes(
    eakte: EAkte,
    member_of: Callable[[Request[Any, Any, Any]], Awaitable[Staff | None]],
    page: Callable[..., Template],
    case_view: CaseView,
    api_member: Callable[[Request[Any, Any, Any]], Awaitable[Staff]],
) -> list[HTTPRouteHandler]:
    login = f"{PREFIX}/anmelden"

    def back(case_id: str, anchor: str = "geschaeftsgang") -> Redirect:
        return Redirect(f"{PREFIX}/vorgaenge/{case_id}#{anchor}")

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/geschaeftsgang", include_in_schema=False)
    async def start_route(request: Request[Any, Any, Any], case_id: str) -> Template | Redirect:
        """Start a route; "Muster übernehmen" fills the rows from a template first."""
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        form = await request.form()
        entered = {
            "title": str(form.get("title", "")),
            "template": str(form.get("template", "")),
            "outcome": str(form.get("outcome", "")),
            "reasons": str(form.get("reasons", "")),
            "documents": [str(v) for v in form.getall("documents", [])],
            "steps": drafted_rows(form),
        }
        if form.get("action") == "vorlage":
            found = await eakte.case(member, case_id)
            if found is None:
                raise PermissionDeniedException(NOT_YOURS)
            chosen = next(
                (t for t in eakte.route_templates(found["case"]) if t["id"] == entered["template"]), None
            )
            rows = chosen["steps"] if chosen else []
            title = chosen["title"] if chosen else entered["title"]
            return await case_view(member, case_id, route_rows=rows, route_form={**entered, "title": title})
        try:
            await eakte.start_route(member, case_id, entered)
        except PermissionError:
            raise PermissionDeniedException(NOT_YOURS) from None
        except DecisionRefused as refused:
            return await case_view(
                member, case_id, gang_error=str(refused), route_rows=entered["steps"], route_form=entered
            )
        return back(case_id)

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/schritte/{{pk:int}}", include_in_schema=False)
    async def work_step(request: Request[Any, Any, Any], case_id: str, pk: int) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        form = await request.form()
        upload = form.get("stellungnahme")
        file = None
        if isinstance(upload, UploadFile) and upload.filename:
            file = (upload.filename, await upload.read(), upload.content_type or "application/octet-stream")
        try:
            await eakte.work_step(
                member, case_id, pk, str(form.get("action", "")), str(form.get("note", "")), file
            )
        except PermissionError:
            raise PermissionDeniedException(NOT_ADDRESSED) from None
        except DecisionRefused as refused:
            return await case_view(
                member, case_id, step_error=str(refused), step_pk=pk, step_note=str(form.get("note", ""))
            )
        return back(case_id)

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/schritte/{{pk:int}}/ueberspringen", include_in_schema=False)
    async def skip(request: Request[Any, Any, Any], case_id: str, pk: int) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        form = await request.form()
        try:
            await eakte.skip_step(member, case_id, pk, str(form.get("reason", "")))
        except PermissionError:
            raise PermissionDeniedException(NOT_YOURS) from None
        except DecisionRefused as refused:
            return await case_view(member, case_id, gang_error=str(refused))
        return back(case_id)

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/geschaeftsgang/zurueckziehen", include_in_schema=False)
    async def withdraw(request: Request[Any, Any, Any], case_id: str) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        form = await request.form()
        try:
            await eakte.withdraw_route(member, case_id, str(form.get("reason", "")))
        except PermissionError:
            raise PermissionDeniedException(NOT_YOURS) from None
        except DecisionRefused as refused:
            return await case_view(member, case_id, gang_error=str(refused))
        return back(case_id)

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/persoenlich", include_in_schema=False)
    async def personal(request: Request[Any, Any, Any], case_id: str) -> Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        form = await request.form()
        try:
            await eakte.mark_personal(member, case_id, form.get("persoenlich") == "1")
        except (PermissionError, DecisionRefused):
            raise PermissionDeniedException(NOT_YOURS) from None
        return back(case_id, "persoenlich")

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/wiedervorlage", include_in_schema=False)
    async def follow_up(request: Request[Any, Any, Any], case_id: str) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        form = await request.form()
        day, note = str(form.get("day", "")), str(form.get("note", ""))
        try:
            await eakte.set_wiedervorlage(member, case_id, day, note)
        except PermissionError:
            raise PermissionDeniedException(NOT_YOURS) from None
        except DecisionRefused as refused:
            return await case_view(member, case_id, wv_error=str(refused), wv_day=day, wv_note=note)
        return back(case_id, "wiedervorlage")

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/wiedervorlage/{{wid:str}}", include_in_schema=False)
    async def close_follow_up(request: Request[Any, Any, Any], case_id: str, wid: str) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        try:
            await eakte.close_wiedervorlage(member, case_id, wid)
        except PermissionError:
            raise PermissionDeniedException("Diese Wiedervorlage ist nicht Ihre.") from None
        except DecisionRefused as refused:
            return await case_view(member, case_id, wv_error=str(refused))
        return back(case_id, "wiedervorlage")

    # -- Vertretung ---------------------------------------------------------------------------

    async def deputy_page(member: Staff, **extra: Any) -> Template:
        context = {"error": None, "entered": {}, **(await eakte.deputies(member)), **extra}
        return page("vertretung.html", member, **context)

    @get(f"{PREFIX}/vertretung", include_in_schema=False)
    async def deputies(request: Request[Any, Any, Any]) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        return await deputy_page(member)

    @post(f"{PREFIX}/vertretung", include_in_schema=False)
    async def name_deputy(request: Request[Any, Any, Any]) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        form = await request.form()
        entered = {k: str(form.get(k, "")) for k in ("deputy", "begin", "end")}
        try:
            await eakte.name_deputy(member, entered["deputy"], entered["begin"], entered["end"])
        except DecisionRefused as refused:
            return await deputy_page(member, error=str(refused), entered=entered)
        return Redirect(f"{PREFIX}/vertretung")

    @post(f"{PREFIX}/vertretung/{{pk:int}}/beenden", include_in_schema=False)
    async def revoke(request: Request[Any, Any, Any], pk: int) -> Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        try:
            await eakte.revoke_deputy(member, pk)
        except PermissionError:
            raise PermissionDeniedException("Diese Vertretung ist nicht Ihre.") from None
        return Redirect(f"{PREFIX}/vertretung")

    @post(f"{PREFIX}/vertretung/uebernehmen", include_in_schema=False)
    async def take_over(request: Request[Any, Any, Any]) -> Redirect:
        """Work an absent colleague's inbox (while the Vertretung holds)."""
        member = await member_of(request)
        if member is None:
            return Redirect(login)
        form = await request.form()
        absent = str(form.get("absent", ""))
        if member.acting_for or await eakte.acting_member(member, absent) is None:
            raise PermissionDeniedException("Sie vertreten diese Person heute nicht.")
        request.set_session({**request.session, "acting_for": absent})
        return Redirect(f"{PREFIX}/")

    @post(f"{PREFIX}/vertretung/verlassen", include_in_schema=False)
    async def leave(request: Request[Any, Any, Any]) -> Redirect:
        if request.session:
            request.set_session({k: v for k, v in request.session.items() if k != "acting_for"})
        return Redirect(f"{PREFIX}/")

    # -- API ----------------------------------------------------------------------------------

    @get(f"{PREFIX}/api/schritte")
    async def api_steps(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
        """The current steps of the Geschäftsgang addressed to the caller or their unit."""
        member = await api_member(request)
        return [
            {
                k: r[k]
                for k in ("pk", "case_id", "aktenzeichen", "number", "kind", "unit", "person", "role", "due")
            }
            for r in await eakte.gang_inbox(member)
        ]

    @post(f"{PREFIX}/api/vorgaenge/{{case_id:str}}/schritte/{{pk:int}}", status_code=201)
    async def api_work_step(
        request: Request[Any, Any, Any], case_id: str, pk: int, data: dict[str, str]
    ) -> dict[str, Any]:
        """Answer a step: ``{"action": "zur_kenntnis_genommen" | "mitgezeichnet" | "einwaende" |
        "schlussgezeichnet" | "zurueckgegeben" | "bearbeitet", "note": "…"}``."""
        member = await api_member(request)
        try:
            await eakte.work_step(member, case_id, pk, data.get("action", ""), data.get("note", ""))
        except PermissionError:
            raise PermissionDeniedException("this step is not addressed to you") from None
        except DecisionRefused as refused:
            raise ClientException(str(refused), status_code=409) from None
        return {"case_id": case_id, "step": pk, "action": data.get("action", "")}

    return [
        start_route,
        work_step,
        skip,
        withdraw,
        personal,
        follow_up,
        close_follow_up,
        deputies,
        name_deputy,
        revoke,
        take_over,
        leave,
        api_steps,
        api_work_step,
    ]
