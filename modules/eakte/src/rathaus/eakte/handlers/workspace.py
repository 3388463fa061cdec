"""What the staff workspace shows: a unit's inbox, the cases it co-signs, and a case page
interpreted from the case's procedure version (no page knows a service)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from rathaus.eakte.domain import (
    ATTEMPT_STATUS_TEXT,
    CLAIM_STATUS_TEXT,
    COSIGN_ACTIONS,
    COSIGN_STATUS_TEXT,
    DECIDING_ROLES,
    DEFAULT_REASONS,
    MITZEICHNUNG,
    OBJECTED,
    PENDING,
    TASK_STATUS_TEXT,
    Staff,
    euro,
    outcomes,
    verify_chain,
)
from rathaus.eakte.handlers.appointments import APPOINTMENT_STATUS_TEXT, AppointmentHandlers
from rathaus.eakte.handlers.bekanntgabe import BekanntgabeHandlers
from rathaus.eakte.handlers.common import Base, record
from rathaus.eakte.handlers.fees import FeeHandlers
from rathaus.eakte.handlers.postkorb import PostkorbHandlers
from rathaus.eakte.store import audit, beteiligungen, decisions, documents, vorgaenge
from rathaus.platform.kernel.procedures import Definition, ProcedureChanged
from rathaus.platform.kernel.procedures.display import Section, sections

RESPONSIBLE, COSIGNING = "zustaendig", "mitzeichnung"


def procedure_line(definition: Definition) -> dict[str, str]:
    """Which procedure version applies, as the case page names it."""
    valid_from = definition.procedure.valid_from
    return {
        "title": definition.title,
        "version": str(definition.version),
        "valid_from": date.fromisoformat(valid_from).strftime("%d.%m.%Y") if valid_from else "",
        "digest": definition.digest,
        "legal_basis": definition.procedure.legal_basis,
    }


class WorkspaceQueries(Base):
    async def inbox(self, member: Staff) -> list[dict[str, Any]]:
        """The cases of the member's unit, newest first (a deputy: without personal ones)."""
        query = sa.select(vorgaenge).where(vorgaenge.c.unit == member.unit)
        if member.acting_for:
            query = query.where(vorgaenge.c.persoenlich.is_(False))
        async with self.kernel.db.read() as s:
            rows = (await s.execute(query.order_by(vorgaenge.c.opened_at.desc()))).mappings().all()
        return [dict(r) for r in rows]

    async def cosign_inbox(self, member: Staff) -> list[dict[str, Any]]:
        """The cases the member's unit co-signs (Mitzeichnung), open ones first."""
        async with self.kernel.db.read() as s:
            rows = (
                (
                    await s.execute(
                        sa.select(
                            vorgaenge,
                            beteiligungen.c.status.label("cosign_status"),
                            beteiligungen.c.requested_at,
                        )
                        .join(beteiligungen, beteiligungen.c.case_id == vorgaenge.c.case_id)
                        .where(
                            beteiligungen.c.unit == member.unit,
                            beteiligungen.c.kind == MITZEICHNUNG,
                            beteiligungen.c.state.in_(("current", "done")),  # not before its turn
                        )
                        .order_by(
                            sa.case((beteiligungen.c.status == PENDING, 0), else_=1),
                            beteiligungen.c.requested_at.desc(),
                        )
                    )
                )
                .mappings()
                .all()
            )
        return [
            {**dict(r), "cosign_text": COSIGN_STATUS_TEXT.get(r["cosign_status"], r["cosign_status"])}
            for r in rows
        ]

    async def _access(self, s: Any, member: Staff, row: dict[str, Any] | None) -> str | None:
        """The member's unit's part in a case: responsible, co-signing, or none."""
        if row is None or (member.acting_for and row["persoenlich"]):
            return None  # a personal case: no deputy sees it
        if row["unit"] == member.unit:
            return RESPONSIBLE
        involved = (
            await s.execute(
                sa.select(beteiligungen.c.pk).where(
                    beteiligungen.c.case_id == row["case_id"],
                    beteiligungen.c.unit == member.unit,
                    beteiligungen.c.state != "future",  # a unit joins a case when its step is due
                )
            )
        ).first()
        return COSIGNING if involved else None

    async def case(self, member: Staff, case_id: str) -> dict[str, Any] | None:
        """The case page's data, or None when the member's unit has no part in the case."""
        async with self.kernel.db.session() as s:
            row = await self.case_row(s, case_id)
            access = await self._access(s, member, row)
            if row is None or access is None:
                return None
            docs = (
                (
                    await s.execute(
                        sa.select(documents)
                        .where(documents.c.case_id == case_id)
                        .order_by(documents.c.received_at, documents.c.version)
                    )
                )
                .mappings()
                .all()
            )
            decision = (
                (await s.execute(sa.select(decisions).where(decisions.c.case_id == case_id)))
                .mappings()
                .first()
            )
            cosigs = await self.cosignatures(s, case_id)
            fees = await FeeHandlers.fee_view(s, case_id)
            visits = await AppointmentHandlers.appointments_of(s, case_id)
            thread = await PostkorbHandlers.thread(s, case_id)
            notice = await BekanntgabeHandlers.bekanntgabe_view(s, case_id)
            trail = (
                (await s.execute(sa.select(audit).where(audit.c.case_id == case_id).order_by(audit.c.seq)))
                .mappings()
                .all()
            )
            await record(s, member.username, "vorgang_eingesehen", case_id, {"unit": member.unit})
        return {
            "case": row,
            "access": access,
            "documents": [dict(d) for d in docs],
            "decision": dict(decision) if decision else None,
            "audit": [dict(a) for a in trail],
            **fees,
            "claim_status_text": CLAIM_STATUS_TEXT,
            "attempt_status_text": ATTEMPT_STATUS_TEXT,
            "task_status_text": TASK_STATUS_TEXT,
            "euro": euro,
            "appointments": visits,
            "appointment_status_text": APPOINTMENT_STATUS_TEXT,
            "thread": thread,
            "open_request": next((m for m in thread if m["request_status"] in ("offen", "erinnert")), None),
            **notice,
            **self._interpreted(row),
            **self._cosigning(member, access, cosigs, decided=decision is not None),
        }

    def _interpreted(self, row: dict[str, Any]) -> dict[str, Any]:
        """What the case's procedure version makes of its data."""
        try:
            definition = self.definition(row)
        except ProcedureChanged as changed:
            return {
                "procedure": None,
                "procedure_problem": str(changed),
                "sections": [Section("Angaben", "angaben", [])],
                "raw_data": row["data"],
                "outcomes": {},
                "proposed_reasons": "",
            }
        decision = definition.procedure.decision
        unit = self.kernel.procedures.units.get(row["unit"])
        return {
            "procedure": procedure_line(definition),
            "procedure_problem": "",
            "sections": sections(definition, row["data"], row["files"]),
            "raw_data": {},
            "outcomes": outcomes(decision.refusable),
            "proposed_reasons": decision.reasons or DEFAULT_REASONS,
            "unit_name": f"{unit.name} ({row['unit']})" if unit else row["unit"],
        }

    def _cosigning(
        self, member: Staff, access: str, rows: list[dict[str, Any]], *, decided: bool
    ) -> dict[str, Any]:
        names = self.unit_names()
        listed = [
            {
                **r,
                "unit_name": names.get(r["unit"], r["unit"]),
                "status_text": COSIGN_STATUS_TEXT.get(r["status"], r["status"]),
            }
            for r in rows
        ]
        mine = next((r for r in listed if r["unit"] == member.unit), None)
        can_answer = (
            access == COSIGNING
            and mine is not None
            and mine["status"] in (PENDING, OBJECTED)
            and not decided
            and member.role in DECIDING_ROLES
        )
        return {
            "cosignatures": listed,
            "my_cosignature": mine,
            "can_cosign": can_answer,
            "cosign_actions": COSIGN_ACTIONS,
            "cosign_pending": [r["unit_name"] for r in listed if r["status"] == PENDING],
            "cosign_objections": [r["unit_name"] for r in listed if r["status"] == OBJECTED],
        }

    async def document(self, member: Staff, case_id: str, pk: int) -> dict[str, Any] | None:
        async with self.kernel.db.session() as s:
            row = (
                (
                    await s.execute(
                        sa.select(documents).where(documents.c.pk == pk, documents.c.case_id == case_id)
                    )
                )
                .mappings()
                .first()
            )
            if row is None or await self._access(s, member, await self.case_row(s, case_id)) is None:
                return None
            await record(
                s, member.username, "dokument_geoeffnet", case_id, {"document_id": row["document_id"]}
            )
        return dict(row)

    async def verify_audit(self) -> bool:
        async with self.kernel.db.session() as s:
            rows = (await s.execute(sa.select(audit).order_by(audit.c.seq))).mappings().all()
        return verify_chain([dict(r) for r in rows])
