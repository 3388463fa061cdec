"""The fee as a case object: the Forderung a case gets when it is opened, its payment
attempts (from the workflow's payment events), its receipt, and the refund tasks of a
refused or doubly paid case, booked after a second staff member approved them."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import msgspec
import sqlalchemy as sa

from rathaus.contracts.eakte.v1 import BookingLine, ClaimCreated, ClaimRefunded
from rathaus.contracts.platform.v1 import PaymentCompleted, PaymentFailed, PaymentRequested
from rathaus.contracts.portal import v2
from rathaus.eakte import receipt
from rathaus.eakte.domain import (
    DECIDING_ROLES,
    FINAL_FAILURES,
    OPEN,
    PAID,
    REFUND_OPEN,
    REFUNDED,
    SYSTEM,
    TASK_BOOKED,
    TASK_OPEN,
    TASK_PROPOSED,
    DecisionRefused,
    Staff,
    check_refund,
    claim_description,
    claim_purpose,
    euro,
    german_date,
    kassenzeichen,
    local_day,
)
from rathaus.eakte.handlers.cases import CaseHandlers
from rathaus.eakte.handlers.common import now, record
from rathaus.eakte.store import decisions, erstattungen, forderungen, serials, zahlungen
from rathaus.platform.kernel import UnitOfWork
from rathaus.platform.kernel.procedures import ProcedureChanged
from rathaus.platform.kernel.procedures.fees import FeeError

log = logging.getLogger(__name__)
KASSENZEICHEN_SERIES = "kassenzeichen"  # its own series in the serials table, by year
CITY = "Landeshauptstadt München"


class FeeHandlers(CaseHandlers):
    # -- the Forderung ------------------------------------------------------------------------

    async def open_case(self, event: v2.ApplicationSubmitted, uow: UnitOfWork) -> None:
        """Open the case, and with it its Forderung when the service charges a fee."""
        await super().open_case(event, uow)
        await self._create_claim(uow, event.case_id)

    async def _create_claim(self, uow: UnitOfWork, case_id: str) -> None:
        s = uow.session
        if (
            await s.execute(sa.select(forderungen.c.claim_id).where(forderungen.c.case_id == case_id))
        ).first():
            return
        row = await self.case_row(s, case_id)
        if row is None:
            return
        definition = self.definition(row)
        fee = definition.procedure.fee
        if fee.payment == "none":
            return
        day = local_day(row["submitted_at"])
        try:
            lines = definition.fee_lines(row["data"], day)
        except FeeError as error:
            # the case is opened all the same; staff see why there is no Forderung
            await record(s, SYSTEM, "forderung_nicht_berechnet", case_id, {"grund": str(error)})
            log.warning("no claim for case %s: %s", case_id, error)
            return
        amount = sum(line.amount_cents for line in lines)
        if amount <= 0:
            return
        kz = await self._next_kassenzeichen(uow, day.year)
        claim_id = str(uuid.uuid4())
        created = now()
        booking = [
            BookingLine(
                tariff=x.tariff,
                haushaltsstelle=x.haushaltsstelle,
                objektnummer=x.objektnummer,
                text=x.text,
                amount_cents=x.amount_cents,
            )
            for x in lines
        ]
        await s.execute(
            forderungen.insert().values(
                claim_id=claim_id,
                case_id=case_id,
                kassenzeichen=kz,
                amount_cents=amount,
                lines=msgspec.to_builtins(booking),
                payment=fee.payment,
                state=OPEN,
                day=day.isoformat(),
                created_at=created,
            )
        )
        await record(
            s,
            SYSTEM,
            "forderung_angelegt",
            case_id,
            {"kassenzeichen": kz, "betrag_cent": amount, "stichtag": day.isoformat(), "zahlung": fee.payment},
        )
        await uow.emit(
            ClaimCreated(
                case_id=case_id,
                claim_id=claim_id,
                kassenzeichen=kz,
                amount_cents=amount,
                payment=fee.payment,
                purpose=claim_purpose(kz),
                description=claim_description(definition.title, row["aktenzeichen"]),
                lines=booking,
                service_id=row["service_id"],
                created_at=created,
            ),
            subject=case_id,
        )

    async def _next_kassenzeichen(self, uow: UnitOfWork, year: int) -> str:
        s = uow.session
        where = (serials.c.aktenplan == KASSENZEICHEN_SERIES, serials.c.year == year)
        current = (await s.execute(sa.select(serials.c.last).where(*where))).scalar()
        serial = (current or 0) + 1
        if current is None:
            await s.execute(serials.insert().values(aktenplan=KASSENZEICHEN_SERIES, year=year, last=serial))
        else:
            await s.execute(serials.update().where(*where).values(last=serial))
        return kassenzeichen(year, serial)

    @staticmethod
    async def claim_of(s: Any, claim_id: str) -> dict[str, Any] | None:
        row = (
            (await s.execute(sa.select(forderungen).where(forderungen.c.claim_id == claim_id)))
            .mappings()
            .first()
        )
        return dict(row) if row else None

    async def _claim_or_retry(self, uow: UnitOfWork, claim_id: str) -> dict[str, Any]:
        claim = await self.claim_of(uow.session, claim_id)
        if claim is None:
            raise LookupError(f"claim {claim_id} is not created yet")  # retried until it is
        return claim

    # -- payment attempts (order-tolerant: a final status is never undone, but PAYED wins) --

    async def _attempt(self, uow: UnitOfWork, claim_id: str, transaction_id: str) -> dict[str, Any] | None:
        row = (
            (
                await uow.session.execute(
                    sa.select(zahlungen).where(
                        zahlungen.c.claim_id == claim_id, zahlungen.c.transaction_id == transaction_id
                    )
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    async def _upsert_attempt(
        self, uow: UnitOfWork, claim_id: str, transaction_id: str, attempt: int, **values: Any
    ) -> dict[str, Any] | None:
        """Write the attempt; returns what it was before (None: new)."""
        before = await self._attempt(uow, claim_id, transaction_id)
        values["updated_at"] = now()
        if before is None:
            await uow.session.execute(
                zahlungen.insert().values(
                    claim_id=claim_id, transaction_id=transaction_id, attempt=attempt, **values
                )
            )
        else:
            await uow.session.execute(
                zahlungen.update().where(zahlungen.c.pk == before["pk"]).values(**values)
            )
        return before

    async def payment_requested(self, event: PaymentRequested, uow: UnitOfWork) -> None:
        """A payment attempt began (the payment page link is not kept: nobody here needs it)."""
        claim = await self._claim_or_retry(uow, event.claim_id)
        before = await self._attempt(uow, event.claim_id, event.transaction_id)
        if before is not None and before["status"] != "INITIAL":
            # the result overtook the request: keep the result, add what the request knows
            await uow.session.execute(
                zahlungen.update()
                .where(zahlungen.c.pk == before["pk"])
                .values(requested_at=event.requested_at)
            )
            return
        await self._upsert_attempt(
            uow,
            event.claim_id,
            event.transaction_id,
            event.attempt,
            status="INITIAL",
            amount_cents=event.amount_cents,
            requested_at=event.requested_at,
        )
        await record(
            uow.session,
            SYSTEM,
            "zahlung_begonnen",
            claim["case_id"],
            {
                "kassenzeichen": claim["kassenzeichen"],
                "versuch": event.attempt,
                "transaktion": event.transaction_id,
            },
        )

    async def payment_failed(self, event: PaymentFailed, uow: UnitOfWork) -> None:
        """An attempt ended without money; a PAYED attempt is never set back."""
        claim = await self._claim_or_retry(uow, event.claim_id)
        before = await self._attempt(uow, event.claim_id, event.transaction_id)
        if before is not None and before["status"] == "PAYED":
            await record(
                uow.session,
                SYSTEM,
                "zahlung_status_ignoriert",
                claim["case_id"],
                {"transaktion": event.transaction_id, "status": event.status, "grund": "bereits bezahlt"},
            )
            return
        status = event.status if event.status in FINAL_FAILURES else "FAILED"
        await self._upsert_attempt(uow, event.claim_id, event.transaction_id, event.attempt, status=status)
        await record(
            uow.session,
            SYSTEM,
            "zahlung_fehlgeschlagen",
            claim["case_id"],
            {"kassenzeichen": claim["kassenzeichen"], "versuch": event.attempt, "status": status},
        )

    async def payment_completed(self, event: PaymentCompleted, uow: UnitOfWork) -> None:
        """PAYED (also late, after FAILED): the claim is paid and its receipt filed; a second
        successful transaction is a double payment and becomes a refund task."""
        s = uow.session
        claim = await self._claim_or_retry(uow, event.claim_id)
        before = await self._attempt(uow, event.claim_id, event.transaction_id)
        if before is not None and before["status"] == "PAYED":
            return  # the same payment reported again
        others = (
            (
                await s.execute(
                    sa.select(zahlungen.c.transaction_id).where(
                        zahlungen.c.claim_id == event.claim_id,
                        zahlungen.c.status == "PAYED",
                        zahlungen.c.transaction_id != event.transaction_id,
                    )
                )
            )
            .scalars()
            .all()
        )
        await self._upsert_attempt(
            uow,
            event.claim_id,
            event.transaction_id,
            event.attempt,
            status="PAYED",
            amount_cents=event.amount_cents,
            payment_method=event.payment_method,
            paid_at=event.paid_at,
            late=event.late or (before is not None and before["status"] in FINAL_FAILURES),
        )
        case_id = claim["case_id"]
        await record(
            s,
            SYSTEM,
            "zahlung_eingegangen",
            case_id,
            {
                "kassenzeichen": claim["kassenzeichen"],
                "betrag_cent": event.amount_cents,
                "transaktion": event.transaction_id,
                "nachtraeglich": bool(event.late or (before and before["status"] in FINAL_FAILURES)),
            },
        )
        if others:
            await self._file_receipt(uow, claim, event)  # the citizen paid: a receipt all the same
            await self.open_refund_task(
                uow, claim, "double_payment", f"double:{event.transaction_id}", event.amount_cents
            )
            return
        if claim["state"] == OPEN:
            await s.execute(
                forderungen.update()
                .where(forderungen.c.claim_id == claim["claim_id"])
                .values(state=PAID, paid_at=event.paid_at)
            )
            claim = {**claim, "state": PAID, "paid_at": event.paid_at}
        await self._file_receipt(uow, claim, event)
        refused = (
            await s.execute(
                sa.select(decisions.c.case_id).where(
                    decisions.c.case_id == case_id, decisions.c.outcome == "refused"
                )
            )
        ).first()
        if refused:
            await self.refund_if_paid(uow, case_id)

    async def _file_receipt(self, uow: UnitOfWork, claim: dict[str, Any], event: PaymentCompleted) -> None:
        row = await self.case_row(uow.session, claim["case_id"])
        assert row is not None
        try:
            title = self.definition(row).title
        except ProcedureChanged:
            title = row["service_id"]
        unit = self.kernel.procedures.units.get(row["unit"])
        paper = receipt.Receipt(
            city=CITY,
            unit=f"{unit.name} ({row['unit']})" if unit else row["unit"],
            service_title=title,
            aktenzeichen=row["aktenzeichen"],
            kassenzeichen=claim["kassenzeichen"],
            lines=list(claim["lines"]),
            amount_cents=event.amount_cents,
            payment_method=event.payment_method,
            paid_at=event.paid_at,
            transaction_id=event.transaction_id,
        )
        pdf = await asyncio.to_thread(receipt.render, paper)
        filename = f"zahlungsbestaetigung-{claim['kassenzeichen']}.pdf"
        blob = await self.kernel.blobs.put("eakte", pdf, media_type="application/pdf", filename=filename)
        await self._store_document(
            uow,
            {
                "document_id": f"quittung-{event.transaction_id}",
                "case_id": claim["case_id"],
                "sha256": blob.sha256,
                "blob": msgspec.to_builtins(blob),
                "document_type": "quittung",
                "title": f"Zahlungsbestätigung {claim['kassenzeichen']}",
                "medium": "elektronisch",
                "source": "zahlung",
                "received_at": event.paid_at,
                "text": receipt_text(paper),
            },
        )

    # -- refunds (Erstattung) with a second approver ------------------------------------------

    async def refund_if_paid(self, uow: UnitOfWork, case_id: str) -> None:
        """A refused case whose fee was paid: the whole fee is to be refunded."""
        claim = (
            (await uow.session.execute(sa.select(forderungen).where(forderungen.c.case_id == case_id)))
            .mappings()
            .first()
        )
        if claim is None or claim["state"] != PAID:
            return
        await self.open_refund_task(
            uow, dict(claim), "refused", f"refused:{claim['claim_id']}", claim["amount_cents"]
        )

    async def open_refund_task(
        self, uow: UnitOfWork, claim: dict[str, Any], reason: str, cause: str, limit_cents: int
    ) -> None:
        s = uow.session
        if (
            await s.execute(sa.select(erstattungen.c.refund_id).where(erstattungen.c.cause == cause))
        ).first():
            return
        row = await self.case_row(s, claim["case_id"])
        assert row is not None
        await s.execute(
            erstattungen.insert().values(
                refund_id=str(uuid.uuid4()),
                cause=cause,
                claim_id=claim["claim_id"],
                case_id=claim["case_id"],
                unit=row["unit"],
                reason=reason,
                limit_cents=limit_cents,
                status=TASK_OPEN,
                created_at=now(),
            )
        )
        await s.execute(
            forderungen.update().where(forderungen.c.claim_id == claim["claim_id"]).values(state=REFUND_OPEN)
        )
        await record(
            s,
            SYSTEM,
            "erstattung_angelegt",
            claim["case_id"],
            {"kassenzeichen": claim["kassenzeichen"], "grund": reason, "hoechstens_cent": limit_cents},
        )

    async def refund_tasks(self, member: Staff) -> list[dict[str, Any]]:
        """The unit's refund tasks, open ones first."""
        async with self.kernel.db.read() as s:
            rows = (
                (
                    await s.execute(
                        sa.select(
                            erstattungen, forderungen.c.kassenzeichen, forderungen.c.amount_cents.label("fee")
                        )
                        .join(forderungen, forderungen.c.claim_id == erstattungen.c.claim_id)
                        .where(erstattungen.c.unit == member.unit)
                        .order_by(
                            sa.case((erstattungen.c.status == TASK_BOOKED, 1), else_=0),
                            erstattungen.c.created_at,
                        )
                    )
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    async def refund_step(
        self, member: Staff, refund_id: str, *, amount: str = "", note: str = "", approve: bool
    ) -> None:
        """Propose (amount, reason) or approve a refund; raises PermissionError (not the
        member's unit), DecisionRefused with a German message."""
        if member.role not in DECIDING_ROLES:
            raise DecisionRefused("Erstattungen bearbeiten Sachbearbeitung oder Leitung.")
        async with self.kernel.transaction() as uow:
            s = uow.session
            task = (
                (await s.execute(sa.select(erstattungen).where(erstattungen.c.refund_id == refund_id)))
                .mappings()
                .first()
            )
            if task is None or task["unit"] != member.unit:
                raise PermissionError(refund_id)
            cents = check_refund(
                amount,
                note,
                limit_cents=task["limit_cents"],
                status=task["status"],
                proposed_by=task["proposed_by"],
                me=member.staff_id,
                proposing=not approve,
            )
            stamp = now()
            claim = await self.claim_of(s, task["claim_id"])
            assert claim is not None
            if not approve:
                await s.execute(
                    erstattungen.update()
                    .where(erstattungen.c.refund_id == refund_id, erstattungen.c.status == TASK_OPEN)
                    .values(
                        status=TASK_PROPOSED,
                        amount_cents=cents,
                        note=note.strip(),
                        proposed_by=member.staff_id,
                        proposed_at=stamp,
                    )
                )
                await record(
                    s,
                    member.username,
                    "erstattung_vorgeschlagen",
                    task["case_id"],
                    {"kassenzeichen": claim["kassenzeichen"], "betrag_cent": cents, "vermerk": note.strip()},
                )
                return
            await s.execute(
                erstattungen.update()
                .where(erstattungen.c.refund_id == refund_id, erstattungen.c.status == TASK_PROPOSED)
                .values(status=TASK_BOOKED, approved_by=member.staff_id, booked_at=stamp)
            )
            # a refused case's fee goes back: the claim is refunded; after a double payment
            # the fee stays paid once
            state = REFUNDED if task["reason"] == "refused" else PAID
            await s.execute(
                forderungen.update().where(forderungen.c.claim_id == claim["claim_id"]).values(state=state)
            )
            await record(
                s,
                member.username,
                "erstattung_genehmigt",
                task["case_id"],
                {"kassenzeichen": claim["kassenzeichen"], "betrag_cent": task["amount_cents"]},
            )
            await uow.emit(
                ClaimRefunded(
                    case_id=task["case_id"],
                    claim_id=claim["claim_id"],
                    kassenzeichen=claim["kassenzeichen"],
                    amount_cents=task["amount_cents"],
                    reason=task["reason"],
                    proposed_by=task["proposed_by"],
                    approved_by=member.staff_id,
                    booked_at=stamp,
                ),
                subject=task["case_id"],
            )

    # -- what the case page shows ----------------------------------------------------------------

    @staticmethod
    async def fee_view(s: Any, case_id: str) -> dict[str, Any]:
        claim = (
            (await s.execute(sa.select(forderungen).where(forderungen.c.case_id == case_id)))
            .mappings()
            .first()
        )
        if claim is None:
            return {"claim": None, "attempts": [], "refunds": []}
        attempts = (
            (
                await s.execute(
                    sa.select(zahlungen)
                    .where(zahlungen.c.claim_id == claim["claim_id"])
                    .order_by(zahlungen.c.attempt)
                )
            )
            .mappings()
            .all()
        )
        refunds = (
            (await s.execute(sa.select(erstattungen).where(erstattungen.c.claim_id == claim["claim_id"])))
            .mappings()
            .all()
        )
        return {
            "claim": dict(claim),
            "attempts": [dict(a) for a in attempts],
            "refunds": [dict(r) for r in refunds],
        }


def receipt_text(r: receipt.Receipt) -> str:
    """The receipt's text for the case page (the PDF holds the same)."""
    lines = "; ".join(f"{line['text']}: {euro(int(str(line['amount_cents'])))}" for line in r.lines)
    method = receipt.METHODS.get(r.payment_method, r.payment_method)
    return (
        f"Zahlungsbestätigung: Kassenzeichen {r.kassenzeichen}; {lines}; Summe {euro(r.amount_cents)}; "
        f"Zahlungsart {method}; bezahlt am {german_date(r.paid_at)}."
    )
