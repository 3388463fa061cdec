"""The application form of any service: one page per top-level group, rendered from the
procedure version the draft started with, register data on request, uploads, summary,
submission. Works without JavaScript; htmx re-renders a page when a value that others
depend on changes."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Template

from rathaus.platform.kernel.procedures import Definition, Result
from rathaus.platform.kernel.procedures.display import format_value, sections
from rathaus.portal import PREFIX
from rathaus.portal.domain import (
    APPLICANT,
    ATTRIBUTE_NAMES,
    REGISTER_NAMES,
    SUMMARY,
    error_key,
    in_step,
    read_page,
    register_button,
    row_action,
    shown_steps,
    step_nodes,
    step_title,
    steps,
)
from rathaus.portal.domain.accounts import ASSURANCE_ORDER
from rathaus.portal.handlers.forms import Applicant
from rathaus.portal.web.common import LoginRequired, Pages, Visitor

CONFIRMATION = "Ich bestätige, dass meine Angaben richtig und vollständig sind."
MSG_CONFIRM = "Bitte bestätigen Sie, dass Ihre Angaben richtig und vollständig sind."
MSG_CHANGED = "Der Antrag wurde in der Zwischenzeit geändert. Bitte prüfen Sie die Angaben."
MSG_CHOOSE = "Bitte wählen Sie, für wen Sie den Antrag stellen."
ASSURANCE_TEXT = {"niedrig": "basis", "substantiell": "substantiell", "hoch": "hoch"}


def step_url(service_id: str, step: str) -> str:
    return f"{PREFIX}/leistungen/{service_id}/antrag/{step}"


def done_url(visitor: Visitor, case_id: str) -> str:
    """Where a submission lands: the case in "Meine Anträge", or a page for anonymous applicants."""
    return (
        f"{PREFIX}/antraege/{case_id}?eingegangen=1" if visitor.account else f"{PREFIX}/eingegangen/{case_id}"
    )


def lookup(values: dict[str, Any], key: str) -> Any:
    """A value by its page key: "name", or "group-<row>-name" in a repeating group."""
    parts = key.split("-")
    if len(parts) == 3 and parts[1].isdigit():
        rows = values.get(parts[0]) or []
        index = int(parts[1])
        return rows[index].get(parts[2]) if index < len(rows) and isinstance(rows[index], dict) else None
    return values.get(key)


def routes(pages: Pages) -> list[HTTPRouteHandler]:
    portal = pages.portal

    def offered(service_id: str) -> Definition:
        definition = portal.kernel.procedures.current(service_id)
        if definition is None:
            raise NotFoundException("Diese Leistung kann hier nicht online beantragt werden.")
        return definition

    async def who(request: Request[Any, Any, Any], definition: Definition) -> tuple[Visitor, Applicant]:
        """The visitor and the drafts' owner: an account, or an anonymous session where the
        service allows it."""
        visitor = await pages.visitor(request)
        if visitor.account is not None:
            return visitor, Applicant(visitor.account, visitor.account.account_id)
        if "anonymous" not in definition.procedure.applicants:
            target = request.url.path if request.method != "GET" else str(request.url.path)
            raise LoginRequired(target)
        session = dict(request.session or {})
        anon = session.get("anon_id")
        if not isinstance(anon, str):
            anon = secrets.token_urlsafe(18)
            request.set_session({**session, "anon_id": anon})
        return visitor, Applicant(None, f"anon:{anon}")

    async def memberships(applicant: Applicant) -> list[Any]:
        if applicant.account is None:
            return []
        return list(await portal.organisations_of(applicant.account))

    def choose_applicant(definition: Definition, orgs: list[Any]) -> bool:
        allowed = definition.procedure.applicants
        return "organisation" in allowed and (bool(orgs) or "person" not in allowed)

    async def open_draft(
        request: Request[Any, Any, Any], service_id: str
    ) -> tuple[Visitor, Applicant, Definition, dict[str, Any], list[Any]]:
        current = offered(service_id)
        visitor, applicant = await who(request, current)
        found = await portal.find_draft(applicant.owner, service_id)
        definition = portal.definition_of(found) if found is not None else current
        draft = found or await portal.draft(applicant, definition)
        orgs = await memberships(applicant)
        if draft.get("organisation_id") and applicant.account is not None:
            organisation = await portal.acting_for(applicant.account, draft["organisation_id"])
            applicant = Applicant(applicant.account, applicant.owner, organisation)
        return visitor, applicant, definition, draft, orgs

    def level_missing(visitor: Visitor, definition: Definition) -> str | None:
        needed = definition.procedure.assurance
        account = visitor.account
        if account is None or needed == "niedrig":
            return None
        have = (
            ASSURANCE_ORDER.index(account.assurance_level)
            if account.assurance_level in ASSURANCE_ORDER
            else -1
        )
        return None if have >= ASSURANCE_ORDER.index(needed) else needed

    def render(
        visitor: Visitor,
        definition: Definition,
        step: str,
        draft: dict[str, Any],
        result: Result,
        errors: dict[str, str],
        orgs: list[Any],
        status: int = 200,
        **extra: Any,
    ) -> Template:
        order = shown_steps(steps(definition, choose_applicant(definition, orgs)), result.visible, step)
        shown = {error_key(path) for path in result.visible}
        attached = {a.get("field", a.get("kind")): a for a in draft["attachments"]}
        proc = definition.procedure
        register_step = next(
            (
                definition.step_of(n.name)
                for n in definition.fields()
                if n.element.prefill.split(".")[0] in REGISTER_NAMES
            ),
            "",
        )
        context: dict[str, Any] = {
            "definition": definition,
            "proc": proc,
            "step": step,
            "steps": [(s, step_title(definition, s), step_url(proc.id, s)) for s in order],
            "index": order.index(step),
            "draft": draft,
            "values": draft["values"],
            "data": result.data,
            "errors": errors,
            "shown": shown,
            "required": {error_key(p) for p in result.required},
            "attached": attached,
            "anonymous": visitor.account is None,
            "fmt": lambda name, value: format_value(definition, definition.node(name), value),
            "codes": lambda name: definition.codelists[definition.node(name).element.codelist].values,
            "uses": draft["evidence"],
            "used_registers": [REGISTER_NAMES.get(r, r) for u in draft["evidence"] for r in u["registers"]],
            "confirmation": CONFIRMATION,
            "nodes_of": lambda name: definition.children(name),
            "raw": lambda key: lookup(draft["values"], key),
            "computed": lambda key: lookup(result.data, key),
            "rows": lambda name: draft["values"].get(name) or [],
            **extra,
        }
        if step == register_step and visitor.account is not None:
            shown_preview = draft.get("preview") or {}
            context["register_button"] = register_button(definition.registers())
            context["register_names_text"] = " und ".join(
                REGISTER_NAMES.get(r, r) for r in definition.registers()
            )
            context["refusal"] = (
                shown_preview.get("message") if shown_preview and not shown_preview.get("released") else ""
            )
        if step == SUMMARY:
            context["sections"] = sections(
                definition, result.data, {k: v["blob"] for k, v in attached.items()}
            )
            context["warnings"] = list(dict.fromkeys(result.warnings.values()))
            context["fee_cents"] = definition.fee_cents(result.data)
            context["hrefs"] = {
                "bestaetigung": "#feld-bestaetigung",
                "case_id": "#angaben",
                "fuer": step_url(proc.id, APPLICANT),
                **{
                    f"problem-{i}": step_url(proc.id, definition.step_of(str(path[0])))
                    + f"#feld-{error_key(path)}"
                    for i, path in enumerate(result.errors)
                    if isinstance(path[0], str) and path[0] in definition.nodes
                },
            }
        if step == APPLICANT:
            context["orgs"] = orgs
        template = {SUMMARY: "antrag_zusammenfassung.html", APPLICANT: "antrag_antragsteller.html"}.get(
            step, "antrag_schritt.html"
        )
        return pages.render(template, visitor, status_code=status, **context)

    @get(f"{PREFIX}/leistungen/{{service_id:str}}/antrag", include_in_schema=False)
    async def start(request: Request[Any, Any, Any], service_id: FromPath[str]) -> Template | Redirect:
        definition = offered(service_id)
        visitor, applicant = await who(request, definition)
        needed = level_missing(visitor, definition)
        if needed is not None:
            return pages.render(
                "antrag_niveau.html",
                visitor,
                status_code=403,
                proc=definition.procedure,
                needed=ASSURANCE_TEXT[needed],
            )
        orgs = await memberships(applicant)
        if (
            "person" not in definition.procedure.applicants
            and "anonymous" not in definition.procedure.applicants
            and not orgs
        ):
            return pages.render(
                "antrag_unternehmen_fehlt.html", visitor, status_code=403, proc=definition.procedure
            )
        order = steps(definition, choose_applicant(definition, orgs))
        return Redirect(step_url(service_id, order[0]))

    @get(f"{PREFIX}/leistungen/{{service_id:str}}/antrag/{{step:str}}", include_in_schema=False)
    async def show_step(
        request: Request[Any, Any, Any], service_id: FromPath[str], step: FromPath[str]
    ) -> Template | Redirect:
        visitor, _, definition, draft, orgs = await open_draft(request, service_id)
        if level_missing(visitor, definition) is not None:
            return Redirect(f"{PREFIX}/leistungen/{service_id}/antrag")
        order = steps(definition, choose_applicant(definition, orgs))
        if step not in order:
            raise NotFoundException("Diesen Schritt gibt es nicht.")
        result = await portal.judge_draft(
            definition, draft
        )  # visibility and requiredness; errors shown only after a post
        if step not in shown_steps(order, result.visible):  # nothing to fill here now: on to the next page
            following = shown_steps(order[order.index(step) + 1 :], result.visible)
            return Redirect(step_url(service_id, following[0]))
        errors = {}
        if step == SUMMARY:
            errors = {f"problem-{i}": m for i, m in enumerate(result.errors.values())}
        return render(visitor, definition, step, draft, result, errors, orgs)

    @post(f"{PREFIX}/leistungen/{{service_id:str}}/antrag/{{step:str}}", include_in_schema=False)
    async def save_step(
        request: Request[Any, Any, Any], service_id: FromPath[str], step: FromPath[str]
    ) -> Template | Redirect:
        form = await request.form()
        if step == SUMMARY:
            return await submit(request, service_id, form)
        definition = offered(service_id)
        visitor, applicant = await who(request, definition)
        draft = await portal.find_draft(applicant.owner, service_id)
        if draft is None:  # submitted meanwhile (another tab): start afresh
            return Redirect(f"{PREFIX}/leistungen/{service_id}/antrag", status_code=303)
        definition = portal.definition_of(draft)
        orgs = await memberships(applicant)
        order = steps(definition, choose_applicant(definition, orgs))
        if step not in order:
            raise NotFoundException("Diesen Schritt gibt es nicht.")
        action = str(form.get("aktion") or "weiter")
        if step == APPLICANT:
            return await save_applicant(visitor, applicant, definition, draft, form, orgs, order, action)
        read_page(definition, step, form, draft["values"])
        upload_errors = await uploads(definition, step, draft, form)
        anchor = row_action(definition, step, action, draft["values"])
        if step == order[0] and draft.get("preview") and not draft["preview"].get("released"):
            draft["preview"] = None  # the refusal was read; the citizen fills in by hand
        await portal.save_draft(draft)
        result = await portal.judge_draft(definition, draft)
        if action == "vorschau":  # htmx: a value others depend on changed; show the page anew
            return render(visitor, definition, step, draft, result, upload_errors, orgs)
        if anchor is not None:  # a row added or removed: back to the page, at that row
            if upload_errors:
                return render(visitor, definition, step, draft, result, upload_errors, orgs, status=400)
            return Redirect(step_url(service_id, step) + f"#{anchor}", status_code=303)
        order = shown_steps(order, result.visible, step)
        index = order.index(step)
        if action == "zurueck":
            return Redirect(step_url(service_id, order[max(index - 1, 0)]), status_code=303)
        errors = {error_key(p): m for p, m in result.errors.items() if in_step(definition, step, p)}
        errors.update(upload_errors)
        if errors:
            return render(visitor, definition, step, draft, result, errors, orgs, status=400)
        return Redirect(step_url(service_id, order[min(index + 1, len(order) - 1)]), status_code=303)

    async def save_applicant(
        visitor: Visitor,
        applicant: Applicant,
        definition: Definition,
        draft: dict[str, Any],
        form: Any,
        orgs: list[Any],
        order: list[str],
        action: str,
    ) -> Template | Redirect:
        choice = str(form.get("fuer") or "")
        allowed = {o.organisation_id for o in orgs}
        if choice == "person" and "person" in definition.procedure.applicants:
            draft["organisation_id"] = None
        elif choice in allowed and applicant.account is not None:
            draft["organisation_id"] = choice
            values = await portal.organisation_values(choice)
            for node in definition.fields():
                e = node.element
                if (
                    e.prefill in values
                    and values[e.prefill]
                    and not draft["values"].get(e.name)
                    and not node.repeating_group
                ):
                    draft["values"][e.name] = values[e.prefill][0]
        else:
            result = await portal.judge_draft(definition, draft, complete=False)
            return render(
                visitor, definition, APPLICANT, draft, result, {"fuer": MSG_CHOOSE}, orgs, status=400
            )
        await portal.save_draft(draft)
        return Redirect(step_url(definition.id, order[1]), status_code=303)

    async def uploads(definition: Definition, step: str, draft: dict[str, Any], form: Any) -> dict[str, str]:
        errors: dict[str, str] = {}
        for node in step_nodes(definition, step):
            if not node.is_file:
                continue
            upload = form.get(node.name)
            if isinstance(upload, UploadFile) and upload.filename:
                data = await upload.read()
                message = await portal.attach(draft, definition, node.name, data, upload.filename)
                if message:
                    errors[node.name] = f"{node.element.label}: {message}"
        return errors

    async def submit(request: Request[Any, Any, Any], service_id: str, form: Any) -> Template | Redirect:
        definition = offered(service_id)
        visitor, applicant = await who(request, definition)
        case_id = form.get("case_id")
        case_id = case_id if isinstance(case_id, str) else ""
        done = done_url(visitor, case_id)

        async def already_submitted() -> bool:
            return bool(case_id) and await portal.submitted(applicant.owner, case_id)

        if await already_submitted():
            return Redirect(done, status_code=303)  # a double click
        draft = await portal.find_draft(applicant.owner, service_id)
        if draft is None:
            # the other click of a double click may have submitted it between the two lookups
            if await already_submitted():
                return Redirect(done, status_code=303)
            return Redirect(f"{PREFIX}/leistungen/{service_id}/antrag", status_code=303)
        definition = portal.definition_of(draft)
        orgs = await memberships(applicant)
        if draft.get("organisation_id") and applicant.account is not None:
            organisation = await portal.acting_for(applicant.account, draft["organisation_id"])
            applicant = Applicant(applicant.account, applicant.owner, organisation)
        result = await portal.judge_draft(definition, draft)
        errors: dict[str, str] = {}
        if case_id != draft["case_id"]:
            errors["case_id"] = MSG_CHANGED
        elif form.get("bestaetigung") != "ja":
            errors["bestaetigung"] = MSG_CONFIRM
        if level_missing(visitor, definition) is not None:
            return Redirect(f"{PREFIX}/leistungen/{service_id}/antrag", status_code=303)
        if (
            "person" not in definition.procedure.applicants
            and applicant.organisation is None
            and visitor.account
        ):
            errors["fuer"] = MSG_CHOOSE
        if errors or result.errors:
            errors.update({f"problem-{i}": m for i, m in enumerate(result.errors.values())})
            return render(visitor, definition, SUMMARY, draft, result, errors, orgs, status=400)
        case_id = await portal.submit(applicant, definition, draft, result)
        return Redirect(done_url(visitor, case_id), status_code=303)

    @get(f"{PREFIX}/eingegangen/{{case_id:str}}", include_in_schema=False)
    async def received_anonymously(request: Request[Any, Any, Any], case_id: FromPath[str]) -> Template:
        """The confirmation page of an application made without an account."""
        return pages.render(
            "antrag_eingegangen_anonym.html", await pages.visitor(request), case_id=case_id[:36]
        )

    # -- register data on request (once-only) ---------------------------------------------------

    @post(f"{PREFIX}/leistungen/{{service_id:str}}/registerdaten", include_in_schema=False)
    async def fetch(request: Request[Any, Any, Any], service_id: FromPath[str]) -> Redirect:
        visitor, _, definition, draft, orgs = await open_draft(request, service_id)
        if visitor.account is None:
            raise LoginRequired(f"{PREFIX}/leistungen/{service_id}/antrag")
        preview = await portal.fetch_evidence(visitor.account, definition, draft)
        if preview["released"]:
            return Redirect(f"{PREFIX}/leistungen/{service_id}/registerdaten", status_code=303)
        return Redirect(
            step_url(service_id, steps(definition, choose_applicant(definition, orgs))[0]), status_code=303
        )

    @get(f"{PREFIX}/leistungen/{{service_id:str}}/registerdaten", include_in_schema=False)
    async def preview_page(request: Request[Any, Any, Any], service_id: FromPath[str]) -> Template | Redirect:
        visitor, _, definition, draft, orgs = await open_draft(request, service_id)
        shown = draft.get("preview")
        if not shown or not shown.get("released"):
            return Redirect(step_url(service_id, steps(definition, choose_applicant(definition, orgs))[0]))
        rows = [(ATTRIBUTE_NAMES.get(a, a), shown["values"].get(a) or []) for a in shown["attributes"]]
        return pages.render(
            "registerdaten.html",
            visitor,
            proc=definition.procedure,
            rows=rows,
            registers=[REGISTER_NAMES.get(r, r) for r in shown["registers"]],
            fetched_at=shown["fetched_at"],
        )

    @post(f"{PREFIX}/leistungen/{{service_id:str}}/registerdaten/entscheidung", include_in_schema=False)
    async def decide(request: Request[Any, Any, Any], service_id: FromPath[str]) -> Redirect:
        _, _, definition, draft, orgs = await open_draft(request, service_id)
        form = await request.form()
        if form.get("wahl") == "uebernehmen":
            await portal.confirm_preview(definition, draft)
        else:
            await portal.decline_preview(draft)
        register_step = next(
            (
                definition.step_of(n.name)
                for n in definition.fields()
                if n.element.prefill.split(".")[0] in REGISTER_NAMES
            ),
            steps(definition, choose_applicant(definition, orgs))[0],
        )
        return Redirect(step_url(service_id, register_step), status_code=303)

    return [start, show_step, save_step, received_anonymously, fetch, preview_page, decide]
