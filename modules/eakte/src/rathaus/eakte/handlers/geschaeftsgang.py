"""The Geschäftsgang with Verfügungen: a clerk sends a draft decision or documents of a case
along a route (from a Muster of the procedure or drafted), addressees work their steps in their
own inbox, the Schlusszeichnung releases the draft decision; a case can be marked personal."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from typing import Any

import msgspec
import sqlalchemy as sa

from rathaus.eakte.domain import DECIDING_ROLES, SYSTEM, Staff, check_decision
from rathaus.eakte.domain_gang import (
    COSIGNED,
    CURRENT,
    DONE,
    MITZEICHNUNG,
    RETURNED,
    RUNNING,
    SCHLUSSZEICHNUNG,
    SIGNED,
    SKIPPED,
    STOPPED,
    RouteRefused,
    Step,
    check_route,
    check_skip,
    due_from,
)
from rathaus.eakte.handlers.common import now, record
from rathaus.eakte.handlers.decisions import DecisionHandlers
from rathaus.eakte.handlers.locks import check_workable
from rathaus.eakte.handlers.routes import advance_route, as_step, create_route, end_route, running_route
from rathaus.eakte.records import check_writable
from rathaus.eakte.store import beteiligungen, documents, staff, vorgaenge
from rathaus.eakte.store_gang import verfuegungen
from rathaus.platform.kernel.procedures import Definition, ProcedureChanged

STELLUNGNAHME_TYPES = ("application/pdf", "image/png", "image/jpeg", "text/plain")
STELLUNGNAHME_BYTES = 10 * 1024 * 1024


class GangHandlers(DecisionHandlers):
    # -- reading ------------------------------------------------------------------------------

    def route_templates(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        """The case's Muster für Verfügung, with each step's unit resolved."""
        try:
            definition = self.definition(row)
        except ProcedureChanged:
            return []
        return [
            {
                "id": r.id,
                "title": r.title,
                "steps": [
                    {
                        **msgspec.to_builtins(s),
                        "unit": s.unit or row["unit"],
                        "due": due_from(date.today(), s.due_days),
                    }
                    for s in r.steps
                ],
            }
            for r in definition.procedure.routes
        ]

    async def gang_inbox(self, member: Staff) -> list[dict[str, Any]]:
        """The current steps addressed to the member (or the colleague they deputise for) or,
        apart from a unit's Mitzeichnung (listed of its own), to their unit."""
        people = [p for p in (member.username, member.acting_for) if p]
        mine = sa.or_(
            beteiligungen.c.person.in_(people),
            sa.and_(
                beteiligungen.c.person == "",
                beteiligungen.c.unit == member.unit,
                beteiligungen.c.kind != MITZEICHNUNG,
            ),
        )
        query = (
            sa.select(
                beteiligungen,
                vorgaenge.c.aktenzeichen,
                vorgaenge.c.akte_titel,
                vorgaenge.c.unit.label("case_unit"),
                vorgaenge.c.persoenlich,
            )
            .join(vorgaenge, vorgaenge.c.case_id == beteiligungen.c.case_id)
            .where(
                beteiligungen.c.state == CURRENT,
                mine,
                beteiligungen.c.role.in_(("", member.role)),  # a lead's step is not the clerk's
            )
            .order_by(beteiligungen.c.requested_at)
        )
        if member.acting_for:
            query = query.where(vorgaenge.c.persoenlich.is_(False))
        async with self.kernel.db.read() as s:
            rows = (await s.execute(query)).mappings().all()
        return [dict(r) for r in rows]

    # -- the clerk's Verfügung -----------------------------------------------------------------

    async def start_route(self, member: Staff, case_id: str, form: dict[str, Any]) -> str:
        """Start a route: ``title``, ``template``, a draft decision (``outcome``, ``reasons``)
        or none, ``documents`` (ids locked while it runs) and ``steps`` (dicts with number,
        kind, unit, person, role, instruction, due). Raises RouteRefused, PermissionError."""
        if member.role not in DECIDING_ROLES:
            raise RouteRefused("Einen Geschäftsgang starten Sachbearbeitung oder Leitung.")
        async with self.kernel.transaction() as uow:
            s = uow.session
            row = await self.case_row(s, case_id)
            if row is None or row["unit"] != member.unit or (member.acting_for and row["persoenlich"]):
                raise PermissionError(case_id)
            await check_workable(s, case_id, row["lifecycle"], RouteRefused)
            try:
                definition = self.definition(row)
            except ProcedureChanged as changed:
                raise RouteRefused(str(changed)) from None
            steps = await self._steps(s, form.get("steps", []))
            steps = check_route(steps, units=self.kernel.procedures.units, today=date.today())
            outcome = str(form.get("outcome", ""))
            reasons = str(form.get("reasons", ""))
            if outcome:
                reasons = await self._draft(s, row, definition, steps, outcome, reasons)
            titled = {d["document_id"] for d in await self._documents(s, case_id)}
            chosen = [str(d) for d in form.get("documents", []) if str(d) in titled]
            if not outcome and not chosen:
                raise RouteRefused(
                    "Bitte wählen Sie, was durch den Geschäftsgang geht: den Entwurf der Entscheidung oder Dokumente."
                )
            title = str(form.get("title", "")).strip() or "Verfügung"
            # the procedure's own Mitzeichnung (started by the system) gives way to the
            # Verfügung; a unit that co-signed already is not asked again
            running = await running_route(s, case_id)
            if running is not None and running["created_by"] == SYSTEM:
                await end_route(s, running, STOPPED, member.username, "Ersetzt durch eine Verfügung.")
            cosigned = {r["unit"] for r in await self.cosignatures(s, case_id) if r["status"] == COSIGNED}
            steps = [
                replace(step, state=SKIPPED) if step.kind == MITZEICHNUNG and step.unit in cosigned else step
                for step in steps
            ]
            try:
                return await create_route(
                    s,
                    case_id,
                    steps,
                    actor=member.username,
                    title=title,
                    template=str(form.get("template", "")),
                    outcome=outcome,
                    reasons=reasons,
                    documents=chosen,
                )
            except ValueError as running:
                raise RouteRefused(str(running)) from None

    async def _steps(self, s: Any, drafted: list[dict[str, str]]) -> list[Step]:
        """The drafted rows as steps; a person's unit is the person's own."""
        steps = []
        for i, d in enumerate(drafted, 1):
            person = str(d.get("person", "")).strip()
            unit = str(d.get("unit", "")).strip()
            if person:
                found = (await s.execute(sa.select(staff.c.unit).where(staff.c.username == person))).scalar()
                if found is None:
                    raise RouteRefused(f"Schritt {i}: Die Person „{person}“ gibt es nicht.")
                unit = found
            try:
                number = int(str(d.get("number", "")).strip())
            except ValueError:
                raise RouteRefused(f"Schritt {i}: Die Nummer ist eine ganze Zahl ab 1.") from None
            steps.append(
                Step(
                    number=number,
                    kind=str(d.get("kind", "")),
                    unit=unit,
                    person=person,
                    role=str(d.get("role", "")),
                    instruction=str(d.get("instruction", "")).strip()[:2000],
                    due=str(d.get("due", "")).strip(),
                )
            )
        return steps

    async def _draft(
        self,
        s: Any,
        row: dict[str, Any],
        definition: Definition,
        steps: list[Step],
        outcome: str,
        reasons: str,
    ) -> str:
        """A draft decision needs a Schlusszeichnung and every co-signing unit in the route
        (or co-signed before); its reasons as a decision would take them."""
        if not any(step.kind == SCHLUSSZEICHNUNG for step in steps):
            raise RouteRefused("Ein Entwurf der Entscheidung braucht eine Schlusszeichnung im Geschäftsgang.")
        routed = {step.unit for step in steps if step.kind == MITZEICHNUNG}
        done = {r["unit"] for r in await self.cosignatures(s, row["case_id"]) if r["state"] == DONE}
        names = self.unit_names()
        missing = [
            names.get(u, u)
            for u in definition.procedure.decision.cosign
            if u != row["unit"] and u not in routed | done
        ]
        if missing:
            raise RouteRefused(f"Das Verfahren schreibt die Mitzeichnung durch {', '.join(missing)} vor.")
        proc = definition.procedure
        return check_decision(
            outcome,
            reasons,
            refusable=proc.decision.refusable,
            taken=await self.taken(s, row["case_id"]),
            proposed=proc.decision.reasons,
        )

    @staticmethod
    async def _documents(s: Any, case_id: str) -> list[dict[str, Any]]:
        rows = (
            (
                await s.execute(
                    sa.select(documents.c.document_id, documents.c.title)
                    .where(documents.c.case_id == case_id)
                    .distinct()
                )
            )
            .mappings()
            .all()
        )
        return [dict(r) for r in rows]

    # -- the addressee's step -----------------------------------------------------------------

    async def work_step(
        self,
        member: Staff,
        case_id: str,
        pk: int,
        action: str,
        note: str,
        upload: tuple[str, bytes, str] | None = None,
    ) -> None:
        """An addressee answers a step, with a Stellungnahme (filename, bytes, media type)
        filed as a document of the case; the Schlusszeichnung releases the draft decision.
        Raises RouteRefused (a DecisionRefused), PermissionError."""
        ref = None
        if upload is not None and upload[1]:
            filename, body, media_type = upload
            if media_type not in STELLUNGNAHME_TYPES:
                raise RouteRefused("Die Stellungnahme kann ein PDF, ein Bild (PNG, JPEG) oder ein Text sein.")
            if len(body) > STELLUNGNAHME_BYTES:
                raise RouteRefused("Die Stellungnahme ist größer als 10 MB.")
            ref = await self.kernel.blobs.put("eakte", body, media_type=media_type, filename=filename[:200])
        async with self.kernel.transaction() as uow:
            s = uow.session
            row = await self._step_row(s, case_id, pk)
            case = await self.case_row(s, case_id)
            if row is None or case is None or (member.acting_for and case["persoenlich"]):
                raise PermissionError(case_id)
            check_writable(case["lifecycle"])
            taken = await self.taken(s, case_id)
            attachment = ""
            if ref is not None:
                attachment = f"stellungnahme-{uuid.uuid4()}"
                await self._store_document(
                    uow,
                    {
                        "document_id": attachment,
                        "case_id": case_id,
                        "sha256": ref.sha256,
                        "blob": msgspec.to_builtins(ref),
                        "document_type": "stellungnahme",
                        "title": f"Stellungnahme {row['unit']} ({ref.filename or 'Anlage'})",
                        "medium": "elektronisch",
                        "source": "geschaeftsgang",
                        "received_at": now(),
                        "text": body.decode("utf-8", "replace") if ref.media_type == "text/plain" else "",
                    },
                )
            route = await self._answer(
                uow, member, row, action, note, decided=taken is not None, attachment=attachment
            )
            if row["kind"] != SCHLUSSZEICHNUNG:
                return
            if action == RETURNED:
                await end_route(s, route, STOPPED, member.username, note.strip())
            elif action == SIGNED and route["outcome"]:
                await self._release(uow, member, case, route)

    async def _release(self, uow: Any, member: Staff, case: dict[str, Any], route: dict[str, Any]) -> None:
        """The Schlusszeichnung releases the draft decision, as the signing member's."""
        s = uow.session
        definition = self.definition(case)
        reasons = check_decision(
            route["outcome"],
            route["reasons"],
            refusable=definition.procedure.decision.refusable,
            taken=await self.taken(s, case["case_id"]),
            cosignatures=self.as_cosignatures(await self.cosignatures(s, case["case_id"])),
            unit_names=self.unit_names(),
            proposed=definition.procedure.decision.reasons,
        )
        await self._record(
            uow,
            case,
            definition,
            outcome=route["outcome"],
            reasons=reasons,
            mode="clerk",
            actor=member.username,
            decided_by=member.staff_id,
            audit={"schlusszeichnung": member.username, "verfuegung": route["verfuegung_id"]},
        )

    @staticmethod
    async def _step_row(s: Any, case_id: str, pk: int) -> dict[str, Any] | None:
        row = (
            (
                await s.execute(
                    sa.select(beteiligungen).where(
                        beteiligungen.c.pk == pk, beteiligungen.c.case_id == case_id
                    )
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    # -- the originator's controls --------------------------------------------------------------

    async def _route_case(self, s: Any, member: Staff, case_id: str) -> dict[str, Any]:
        row = await self.case_row(s, case_id)
        if row is None or row["unit"] != member.unit or (member.acting_for and row["persoenlich"]):
            raise PermissionError(case_id)
        if member.role not in DECIDING_ROLES:
            raise RouteRefused("Den Geschäftsgang steuern Sachbearbeitung oder Leitung.")
        return row

    async def skip_step(self, member: Staff, case_id: str, pk: int, reason: str) -> None:
        """The responsible unit skips a step of its running route (with a reason)."""
        async with self.kernel.transaction() as uow:
            s = uow.session
            case = await self._route_case(s, member, case_id)
            row = await self._step_row(s, case_id, pk)
            route = await running_route(s, case_id)
            if row is None or route is None or row["verfuegung_id"] != route["verfuegung_id"]:
                raise RouteRefused("Dieser Schritt gehört zu keinem laufenden Geschäftsgang.")
            mandatory = self.definition(case).procedure.decision.cosign
            reason = check_skip(as_step(row), reason, mandatory_units=mandatory)
            await s.execute(
                beteiligungen.update().where(beteiligungen.c.pk == pk).values(state=SKIPPED, note=reason)
            )
            await record(
                s,
                member.username,
                "schritt_uebersprungen",
                case_id,
                {"schritt": row["number"], "unit": row["unit"], "person": row["person"], "grund": reason},
            )
            await advance_route(s, route, member.username)

    async def withdraw_route(self, member: Staff, case_id: str, reason: str) -> None:
        """The responsible unit withdraws its running route: its documents are free again."""
        async with self.kernel.transaction() as uow:
            s = uow.session
            await self._route_case(s, member, case_id)
            route = await running_route(s, case_id)
            if route is None:
                raise RouteRefused("Für diesen Vorgang läuft kein Geschäftsgang.")
            if len(reason.strip()) < 5:
                raise RouteRefused("Bitte begründen Sie, warum Sie den Geschäftsgang zurückziehen.")
            await end_route(s, route, STOPPED, member.username, reason.strip())

    async def mark_personal(self, member: Staff, case_id: str, personal: bool) -> None:
        """Mark a case personal: no deputy sees or works it (only the unit itself)."""
        if member.acting_for:
            raise PermissionError(case_id)
        async with self.kernel.transaction() as uow:
            s = uow.session
            await self._route_case(s, member, case_id)
            await s.execute(
                vorgaenge.update().where(vorgaenge.c.case_id == case_id).values(persoenlich=personal)
            )
            await record(s, member.username, "persoenlich" if personal else "nicht_persoenlich", case_id, {})

    async def route_running(self, case_id: str) -> bool:
        async with self.kernel.db.read() as s:
            found = (
                await s.execute(
                    sa.select(verfuegungen.c.verfuegung_id).where(
                        verfuegungen.c.case_id == case_id, verfuegungen.c.status == RUNNING
                    )
                )
            ).first()
        return found is not None
