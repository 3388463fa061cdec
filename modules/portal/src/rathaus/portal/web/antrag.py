"""The application form: one page per step, register data on request, uploads, submission."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Template

from rathaus.contracts.broker.v1 import EvidenceResponse
from rathaus.contracts.procedures import Procedure, all_procedures
from rathaus.portal import PREFIX
from rathaus.portal.domain import (
    ADDRESS_FIELDS,
    REGISTER_NAMES,
    STEP_TITLES,
    clean,
    fields_of,
    incomplete,
    missing_evidence,
    register_button,
    registers_of,
    steps,
    supplied_by_register,
    validate_step,
)
from rathaus.portal.web.common import Pages, Visitor

CONFIRMATION = "Ich bestätige, dass meine Angaben richtig und vollständig sind."
MSG_CONFIRM = "Bitte bestätigen Sie, dass Ihre Angaben richtig und vollständig sind."


def online(service_id: str) -> Procedure:
    proc = all_procedures().get(service_id)
    if proc is None or not proc.online:
        raise NotFoundException("Diese Leistung kann hier nicht online beantragt werden.")
    return proc


def step_url(proc: Procedure, step: str) -> str:
    return f"{PREFIX}/leistungen/{proc.id}/antrag/{step}"


def routes(pages: Pages) -> list[HTTPRouteHandler]:
    portal = pages.portal

    def render(
        visitor: Visitor,
        proc: Procedure,
        step: str,
        draft: dict[str, Any],
        errors: dict[str, str],
        status: int,
    ) -> Template:
        order = steps(proc)
        values = draft["values"]
        context: dict[str, Any] = {
            "proc": proc,
            "step": step,
            "steps": [(s, STEP_TITLES.get(s, s), step_url(proc, s)) for s in order],
            "index": order.index(step),
            "draft": draft,
            "values": values,
            "errors": errors,
            "fields": fields_of(proc, step),
            "register_names": REGISTER_NAMES,
            "uses": draft["evidence"],
            "used_registers": [REGISTER_NAMES.get(r, r) for u in draft["evidence"] for r in u["registers"]],
            "confirmation": CONFIRMATION,
        }
        if step == order[0]:
            preview = draft.get("preview") or {}
            context["register_button"] = register_button(registers_of(proc))
            context["refusal"] = preview.get("message") if preview and not preview.get("released") else ""
        if step == "nachweise":
            attached = {a["kind"]: a for a in draft["attachments"]}
            context["evidence"] = [
                (e, attached.get(e.kind), supplied_by_register(e, values, draft["evidence"]))
                for e in proc.evidence
            ]
        if step == "zusammenfassung":
            problems = incomplete(proc, draft)
            context["problems"] = problems
            context["missing_kinds"] = {
                e.kind for e in missing_evidence(proc, values, draft["attachments"], draft["evidence"])
            }
            context["all_errors"] = {**errors, **{f"problem-{i}": m for i, (_, m) in enumerate(problems)}}
            context["hrefs"] = {
                "bestaetigung": "#feld-bestaetigung",
                "case_id": "#angaben",
                **{f"problem-{i}": step_url(proc, s) for i, (s, _) in enumerate(problems)},
            }
            context["groups"] = [
                (s, STEP_TITLES.get(s, s), fields_of(proc, s)) for s in order if fields_of(proc, s)
            ]
            context["evidence"] = [
                (e, next((a for a in draft["attachments"] if a["kind"] == e.kind), None))
                for e in proc.evidence
            ]
        return pages.render(f"antrag_{template_of(proc, step)}.html", visitor, status_code=status, **context)

    def template_of(proc: Procedure, step: str) -> str:
        return step if step in ("nachweise", "zusammenfassung") else "schritt"

    async def start_draft(
        request: Request[Any, Any, Any], service_id: str
    ) -> tuple[Visitor, Procedure, dict[str, Any]]:
        proc = online(service_id)
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        return visitor, proc, await portal.draft(visitor.account, proc)

    @get(f"{PREFIX}/leistungen/{{service_id:str}}/antrag", include_in_schema=False)
    async def start(request: Request[Any, Any, Any], service_id: FromPath[str]) -> Redirect:
        proc = online(service_id)
        await pages.citizen(request)
        return Redirect(step_url(proc, steps(proc)[0]))

    @get(f"{PREFIX}/leistungen/{{service_id:str}}/antrag/{{step:str}}", include_in_schema=False)
    async def show_step(
        request: Request[Any, Any, Any], service_id: FromPath[str], step: FromPath[str]
    ) -> Template:
        if step not in steps(online(service_id)):
            raise NotFoundException("Diesen Schritt gibt es nicht.")
        visitor, proc, draft = await start_draft(request, service_id)
        return render(visitor, proc, step, draft, {}, 200)

    @post(f"{PREFIX}/leistungen/{{service_id:str}}/antrag/{{step:str}}", include_in_schema=False)
    async def save_step(
        request: Request[Any, Any, Any], service_id: FromPath[str], step: FromPath[str]
    ) -> Template | Redirect:
        proc = online(service_id)
        order = steps(proc)
        if step not in order:
            raise NotFoundException("Diesen Schritt gibt es nicht.")
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        form = await request.form()
        if step == "zusammenfassung":
            return await submit(visitor, proc, form)
        draft = await portal.find_draft(visitor.account, proc.id)
        if draft is None:  # submitted meanwhile (another tab): start afresh
            return Redirect(step_url(proc, order[0]), status_code=303)
        back = form.get("aktion") == "zurueck"
        errors: dict[str, str] = {}
        if step == "nachweise":
            errors = await uploads(proc, draft, form, check_required=not back)
        else:
            for f in fields_of(proc, step):
                raw = form.get(f.name)
                draft["values"][f.name] = clean(raw if isinstance(raw, str) else "")[:200]
            if step == order[0] and draft.get("preview") and not draft["preview"].get("released"):
                draft["preview"] = None  # the refusal was read; the citizen fills in by hand
            if not back:
                errors = validate_step(fields_of(proc, step), draft["values"])
                names = {f.name for f in fields_of(proc, step)}
                if not errors and all(n in names for n in ADDRESS_FIELDS):
                    message = await portal.locate(proc, draft)
                    if message:
                        errors["street"] = message
        await portal.save_draft(draft)
        if errors:
            return render(visitor, proc, step, draft, errors, 400)
        index = order.index(step)
        target = order[max(index - 1, 0)] if back else order[min(index + 1, len(order) - 1)]
        return Redirect(step_url(proc, target), status_code=303)

    async def uploads(
        proc: Procedure, draft: dict[str, Any], form: Any, check_required: bool
    ) -> dict[str, str]:
        errors: dict[str, str] = {}
        for e in proc.evidence:
            upload = form.get(f"nachweis-{e.kind}")
            if isinstance(upload, UploadFile) and upload.filename:
                data = await upload.read()
                message = await portal.attach(draft, proc, e.kind, data, upload.filename)
                if message:
                    errors[f"nachweis-{e.kind}"] = f"{e.label}: {message}"
        if check_required:
            for e in missing_evidence(proc, draft["values"], draft["attachments"], draft["evidence"]):
                errors.setdefault(f"nachweis-{e.kind}", f"Bitte laden Sie „{e.label}“ hoch.")
        return errors

    async def submit(visitor: Visitor, proc: Procedure, form: Any) -> Template | Redirect:
        assert visitor.account is not None
        case_id = form.get("case_id")
        case_id = case_id if isinstance(case_id, str) else ""
        account = visitor.account

        async def already_submitted() -> bool:
            return bool(case_id) and await portal.submitted(account, case_id)

        if await already_submitted():
            return Redirect(f"{PREFIX}/antraege/{case_id}?eingegangen=1", status_code=303)  # a double click
        draft = await portal.find_draft(visitor.account, proc.id)
        if draft is None:
            # the other click of a double click may have submitted it between the two lookups
            if await already_submitted():
                return Redirect(f"{PREFIX}/antraege/{case_id}?eingegangen=1", status_code=303)
            return Redirect(step_url(proc, steps(proc)[0]), status_code=303)
        errors: dict[str, str] = {}
        if case_id != draft["case_id"]:
            errors["case_id"] = "Der Antrag wurde in der Zwischenzeit geändert. Bitte prüfen Sie die Angaben."
        elif form.get("bestaetigung") != "ja":
            errors["bestaetigung"] = MSG_CONFIRM
        if errors or incomplete(proc, draft):
            return render(visitor, proc, "zusammenfassung", draft, errors, 400)
        case_id = await portal.submit(visitor.account, proc, draft)
        return Redirect(f"{PREFIX}/antraege/{case_id}?eingegangen=1", status_code=303)

    # -- register data on request (once-only) ---------------------------------------------------

    @post(f"{PREFIX}/leistungen/{{service_id:str}}/registerdaten", include_in_schema=False)
    async def fetch(request: Request[Any, Any, Any], service_id: FromPath[str]) -> Redirect:
        visitor, proc, draft = await start_draft(request, service_id)
        assert visitor.account is not None
        preview = await portal.fetch_evidence(visitor.account, proc, draft)
        if preview["released"]:
            return Redirect(f"{PREFIX}/leistungen/{proc.id}/registerdaten", status_code=303)
        return Redirect(step_url(proc, steps(proc)[0]), status_code=303)

    @get(f"{PREFIX}/leistungen/{{service_id:str}}/registerdaten", include_in_schema=False)
    async def preview(request: Request[Any, Any, Any], service_id: FromPath[str]) -> Template | Redirect:
        visitor, proc, draft = await start_draft(request, service_id)
        shown = draft.get("preview")
        if not shown or not shown.get("released"):
            return Redirect(step_url(proc, steps(proc)[0]))
        return pages.render(
            "registerdaten.html",
            visitor,
            proc=proc,
            evidence=msgspec.convert(shown["data"], EvidenceResponse),
            registers=[REGISTER_NAMES.get(r, r) for r in shown["registers"]],
            fetched_at=shown["fetched_at"],
        )

    @post(f"{PREFIX}/leistungen/{{service_id:str}}/registerdaten/entscheidung", include_in_schema=False)
    async def decide(request: Request[Any, Any, Any], service_id: FromPath[str]) -> Redirect:
        _, proc, draft = await start_draft(request, service_id)
        form = await request.form()
        if form.get("wahl") == "uebernehmen":
            await portal.confirm_preview(draft)
        else:
            await portal.decline_preview(draft)
        return Redirect(step_url(proc, steps(proc)[0]), status_code=303)

    return [start, show_step, save_step, fetch, preview, decide]
