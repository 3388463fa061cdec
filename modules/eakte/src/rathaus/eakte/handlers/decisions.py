"""Deciding a case: by a clerk, automatically (§ 35a VwVfG) or by fiction (§ 42a VwVfG)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import msgspec
from sqlalchemy.exc import IntegrityError

from rathaus.contracts.common_v2 import Party
from rathaus.contracts.eakte.v2 import DecisionMade
from rathaus.contracts.platform.v1 import FictionReached, RequestDecision
from rathaus.eakte.domain import (
    COSIGNED,
    DECIDING_ROLES,
    SYSTEM,
    Cosignature,
    DecisionRefused,
    Staff,
    automatic_reasons,
    check_decision,
    decision_facts,
    fiction_reasons,
    local_day,
)
from rathaus.eakte.handlers.closed import arrived_after_close
from rathaus.eakte.handlers.common import now, record
from rathaus.eakte.handlers.cosigning import CosignHandlers
from rathaus.eakte.handlers.locks import check_workable
from rathaus.eakte.store import decisions, vorgaenge
from rathaus.platform.kernel import UnitOfWork
from rathaus.platform.kernel.calendar import is_holiday
from rathaus.platform.kernel.procedures import Definition, Inputs, ProcedureChanged
from rathaus.platform.kernel.procedures.engine import evaluate
from rathaus.platform.kernel.procedures.expressions import truthy
from rathaus.platform.kernel.procedures.fees import FeeError


def automatic_verdict(
    definition: Definition, data: dict[str, Any], cosignatures: Sequence[Cosignature] = ()
) -> tuple[bool, str]:
    """Whether the system may grant on its own (§ 35a VwVfG): the procedure's
    ``automatic_if`` holds on the case's data (no rule: always), and no co-signature is
    outstanding. Else the German reason why a clerk decides."""
    if definition.procedure.decision.mode != "automatic":
        return False, "Das Verfahren sieht keine automatische Entscheidung vor."
    rule = definition.automatic_if
    if rule is not None:
        try:
            value = evaluate(definition, rule, data, Inputs(values={}, holidays=is_holiday))
        except (ArithmeticError, TypeError, ValueError, KeyError) as error:
            return False, f"Die Bedingung ließ sich nicht auswerten ({type(error).__name__})."
        if not truthy(value):
            return False, f"Die Bedingung für die automatische Entscheidung ist nicht erfüllt: {rule.source}."
    if any(c.status != COSIGNED for c in cosignatures):
        return False, "Eine Mitzeichnung steht aus; automatisch wird nur ohne sie entschieden."
    return True, ""


class DecisionHandlers(CosignHandlers):
    # -- commands of the workflow -------------------------------------------------------------

    async def request_decision(self, event: RequestDecision, uow: UnitOfWork) -> None:
        """The case is complete: into the unit's inbox "zur Entscheidung", co-signing units
        asked for their Mitzeichnung; with ``mode == "automatic"`` decided by the system when
        the procedure's rule holds (§ 35a VwVfG), else left to a clerk."""
        s = uow.session
        row = await self.case_row(s, event.case_id)
        if row is None:
            raise LookupError(f"case {event.case_id} is not opened yet")  # retried until it is
        taken = await self.taken(s, event.case_id)
        if taken is not None:
            await record(
                s, SYSTEM, "entscheidung_angefordert", event.case_id, {"hinweis": "bereits entschieden"}
            )
            return
        if await arrived_after_close(s, event.case_id, "entscheidung_angefordert", {"frist": event.due_at}):
            return  # a closed (cancelled) case is not decided; its case worker sees the request
        await self.set_status(
            uow,
            event.case_id,
            "zur_entscheidung",
            {"frist": event.due_at, "modus": event.mode},
            due_at=event.due_at,
        )
        definition = self.definition(row)
        await self._ask_cosigners(uow, row, definition)
        if event.mode == "automatic":
            await self._decide_automatically(uow, row, definition)

    async def _decide_automatically(
        self, uow: UnitOfWork, row: dict[str, Any], definition: Definition
    ) -> None:
        s = uow.session
        cosigs = self.as_cosignatures(await self.cosignatures(s, row["case_id"]))
        holds, why = automatic_verdict(definition, row["data"], cosigs)
        if not holds:
            await record(
                s,
                SYSTEM,
                "automatische_entscheidung_nicht_moeglich",
                row["case_id"],
                {"grund": f"{why} Die Sachbearbeitung entscheidet."},
            )
            return
        proc = definition.procedure
        await self._record(
            uow,
            row,
            definition,
            outcome="granted",
            reasons=automatic_reasons(definition.title, definition.version, proc.decision.reasons),
            mode="automatic",
            actor=SYSTEM,
            decided_by=SYSTEM,
            audit={"regel": definition.automatic_if.source if definition.automatic_if else "immer"},
        )

    async def fiction_reached(self, event: FictionReached, uow: UnitOfWork) -> None:
        """The decision deadline ran out: the permit counts as granted (§ 42a VwVfG) — unless
        a decision came first, which only gets a note in the file."""
        s = uow.session
        row = await self.case_row(s, event.case_id)
        if row is None:
            raise LookupError(f"case {event.case_id} is not opened yet")  # retried until it is
        taken = await self.taken(s, event.case_id)
        if taken is not None:
            await record(
                s,
                SYSTEM,
                "fiktion_gegenstandslos",
                event.case_id,
                {
                    "grund": "Vor Ablauf der Frist wurde bereits entschieden.",
                    "frist": event.deadline,
                    "entscheidung": taken.outcome,
                    "modus": taken.mode,
                },
            )
            return
        if await arrived_after_close(s, event.case_id, "fiktion", {"frist": event.deadline}):
            return  # no permit by fiction for a cancelled case; its case worker sees the deadline
        definition = self.definition(row)
        if not definition.procedure.decision.fiction_days:
            await record(
                s,
                SYSTEM,
                "fiktion_gegenstandslos",
                event.case_id,
                {"grund": "Das Verfahren kennt keine Genehmigungsfiktion.", "frist": event.deadline},
            )
            return
        try:
            day = date.fromisoformat(event.deadline[:10])
        except ValueError:
            day = date.today()
        await self._record(
            uow,
            row,
            definition,
            outcome="granted",
            reasons=fiction_reasons(event.basis, event.deadline),
            mode="fiction",
            actor=SYSTEM,
            decided_by=SYSTEM,
            day=day,
            facts={"fiktion_basis": event.basis, "fiktion_frist": event.deadline},
            audit={"grundlage": event.basis, "frist": event.deadline},
        )

    # -- staff --------------------------------------------------------------------------------

    async def decide(self, member: Staff, case_id: str, outcome: str, reasons: str) -> None:
        """Record a clerk's decision and emit DecisionMade; raises DecisionRefused with a
        message, PermissionError when the case is not the member's unit's."""
        if member.role not in DECIDING_ROLES:
            raise DecisionRefused("Entscheidungen treffen Sachbearbeitung oder Leitung.")
        try:
            async with self.kernel.transaction() as uow:
                s = uow.session
                row = await self.case_row(s, case_id)
                if row is None or row["unit"] != member.unit or (member.acting_for and row["persoenlich"]):
                    raise PermissionError(case_id)
                await check_workable(s, case_id, row["lifecycle"])
                try:
                    definition = self.definition(row)
                except ProcedureChanged as changed:
                    raise DecisionRefused(str(changed)) from None
                proc = definition.procedure
                await self.route_blocks_decision(s, row, definition)
                reasons = check_decision(
                    outcome,
                    reasons,
                    refusable=proc.decision.refusable,
                    taken=await self.taken(s, case_id),
                    cosignatures=self.as_cosignatures(await self.cosignatures(s, case_id)),
                    unit_names=self.unit_names(),
                    proposed=proc.decision.reasons,
                )
                await self._record(
                    uow,
                    row,
                    definition,
                    outcome=outcome,
                    reasons=reasons,
                    mode="clerk",
                    actor=member.username,
                    decided_by=member.staff_id,
                )
        except IntegrityError:  # the system (fiction, automatic) decided in the same moment
            raise DecisionRefused("Dieser Vorgang ist bereits entschieden.") from None

    # -- recording ------------------------------------------------------------------------------

    async def _record(
        self,
        uow: UnitOfWork,
        row: dict[str, Any],
        definition: Definition,
        *,
        outcome: str,
        reasons: str,
        mode: str,
        actor: str,
        decided_by: str,
        day: date | None = None,
        facts: dict[str, str] | None = None,
        audit: dict[str, Any] | None = None,
    ) -> None:
        """The decision, the case's new status, the audit entry and DecisionMade, in one transaction."""
        s = uow.session
        case_id = row["case_id"]
        decided = now()
        try:  # the fee at the rates of the day the application came in
            fee_cents = definition.fee_cents(row["data"], local_day(row["submitted_at"]))
        except FeeError:
            fee_cents = 0
        all_facts = decision_facts(
            outcome, day or date.today(), definition.procedure.decision.valid_days, fee_cents
        )
        all_facts.update(facts or {})
        await s.execute(
            decisions.insert().values(
                case_id=case_id,
                outcome=outcome,
                reasons=reasons,
                decided_by=decided_by,
                decided_at=decided,
                mode=mode,
                facts=all_facts,
            )
        )
        await s.execute(vorgaenge.update().where(vorgaenge.c.case_id == case_id).values(status="entschieden"))
        await record(s, actor, "entscheidung", case_id, {"outcome": outcome, "mode": mode, **(audit or {})})
        if outcome == "refused":
            await self.refund_if_paid(uow, case_id)
        await uow.emit(
            DecisionMade(
                case_id=case_id,
                aktenzeichen=row["aktenzeichen"],
                service_id=row["service_id"],
                service_version=definition.version,
                procedure_digest=definition.digest,
                outcome=outcome,
                mode=mode,
                reasons=reasons,
                recipient=msgspec.convert(row["applicant"], Party),
                data=row["data"],
                facts=all_facts,
                unit=row["unit"],
                decided_by=decided_by,
                decided_at=decided,
                submitted_at=row["submitted_at"],
            ),
            subject=case_id,
        )
