"""Reconciliation (Zahlungsabgleich): the provider's transactions of a day against the
Forderungen; each finding recorded once (its key is unique), exceptions listed for staff
until someone marks them geklärt; the Stadtkasse's CSV of a day."""

from __future__ import annotations

import csv
import io
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.contracts.platform.v1 import PaymentsSettled, SettledTransaction
from rathaus.eakte.domain import (
    DOUBLE,
    MATCHED,
    ORPHAN,
    SYSTEM,
    TASK_BOOKED,
    DecisionRefused,
    Staff,
    csv_amount,
    local_day,
    reconcile,
)
from rathaus.eakte.handlers.common import now, record
from rathaus.eakte.handlers.fees import FeeHandlers
from rathaus.eakte.store import abgleich, erstattungen, forderungen, zahlungen
from rathaus.platform.kernel import UnitOfWork

CASHIER_ROLES = ("kasse", "leitung")
OK, OPEN_FINDING, RESOLVED = "ok", "offen", "geklaert"
CSV_HEADER = [
    "Art",
    "Datum",
    "Kassenzeichen",
    "Haushaltsstelle",
    "Objektnummer",
    "Buchungstext",
    "Betrag (EUR)",
]


class ReconciliationHandlers(FeeHandlers):
    async def payments_settled(self, event: PaymentsSettled, uow: UnitOfWork) -> None:
        """Compare the day's PAYED transactions with the Forderungen; a second run for the
        same day, or the same report again, adds nothing."""
        added = 0
        for t in event.transactions:
            if t.status == "PAYED":
                added += await self._settle(uow, event.day, t)
        await record(
            uow.session,
            SYSTEM,
            "zahlungsabgleich",
            None,
            {
                "tag": event.day,
                "anbieter": event.provider,
                "transaktionen": len(event.transactions),
                "neu": added,
            },
        )

    async def _settle(self, uow: UnitOfWork, day: str, t: SettledTransaction) -> int:
        s = uow.session
        claim = await self._claim_for(s, t)
        paid: set[str] = set()
        if claim is not None:
            paid |= set(
                (
                    await s.execute(
                        sa.select(zahlungen.c.transaction_id).where(
                            zahlungen.c.claim_id == claim["claim_id"], zahlungen.c.status == "PAYED"
                        )
                    )
                ).scalars()
            )
            paid |= set(
                (
                    await s.execute(
                        sa.select(abgleich.c.transaction_id).where(
                            abgleich.c.claim_id == claim["claim_id"], abgleich.c.kind != DOUBLE
                        )
                    )
                ).scalars()
            )
        added = 0
        found = reconcile(t.transaction_id, t.kassenzeichen, t.amount_cents, claim, paid)
        for finding in found:
            exists = (await s.execute(sa.select(abgleich.c.pk).where(abgleich.c.key == finding.key))).first()
            if exists:
                continue
            await s.execute(
                abgleich.insert().values(
                    key=finding.key,
                    day=day,
                    kind=finding.kind,
                    state=OK if finding.kind == MATCHED else OPEN_FINDING,
                    transaction_id=finding.transaction_id,
                    kassenzeichen=finding.kassenzeichen[:40],
                    claim_id=finding.claim_id,
                    amount_cents=finding.amount_cents,
                    expected_cents=finding.expected_cents,
                    paid_at=t.paid_at,
                    found_at=now(),
                )
            )
            added += 1
            if finding.kind != MATCHED:
                await record(
                    s,
                    SYSTEM,
                    f"abgleich_{finding.kind}",
                    claim["case_id"] if claim else None,
                    {"kassenzeichen": finding.kassenzeichen, "transaktion": t.transaction_id, "tag": day},
                )
        # every payment after the first is to be refunded (a task once per transaction)
        if (
            claim is not None
            and any(f.kind == DOUBLE for f in found)
            and await self._first_payment(s, claim["claim_id"]) != t.transaction_id
        ):
            await self.open_refund_task(
                uow, claim, "double_payment", f"double:{t.transaction_id}", t.amount_cents
            )
        return added

    async def _claim_for(self, s: AsyncSession, t: SettledTransaction) -> dict[str, Any] | None:
        row = (
            (await s.execute(sa.select(forderungen).where(forderungen.c.kassenzeichen == t.kassenzeichen)))
            .mappings()
            .first()
        )
        if row is None:
            claim_id = (
                await s.execute(
                    sa.select(zahlungen.c.claim_id).where(zahlungen.c.transaction_id == t.transaction_id)
                )
            ).scalar()
            if claim_id is not None:
                row = (
                    (await s.execute(sa.select(forderungen).where(forderungen.c.claim_id == claim_id)))
                    .mappings()
                    .first()
                )
        return dict(row) if row else None

    @staticmethod
    async def _first_payment(s: AsyncSession, claim_id: str) -> str | None:
        """The transaction that paid the claim first (the others are the double payments)."""
        by_event = (
            await s.execute(
                sa.select(zahlungen.c.transaction_id)
                .where(zahlungen.c.claim_id == claim_id, zahlungen.c.status == "PAYED")
                .order_by(zahlungen.c.paid_at, zahlungen.c.pk)
                .limit(1)
            )
        ).scalar()
        if by_event is not None:
            return str(by_event)
        settled = (
            await s.execute(
                sa.select(abgleich.c.transaction_id)
                .where(abgleich.c.claim_id == claim_id, abgleich.c.kind != DOUBLE)
                .order_by(abgleich.c.paid_at, abgleich.c.pk)
                .limit(1)
            )
        ).scalar()
        return str(settled) if settled is not None else None

    # -- the staff page ---------------------------------------------------------------------

    @staticmethod
    def may_reconcile(member: Staff) -> bool:
        return member.role in CASHIER_ROLES

    async def findings(self, member: Staff, *, open_only: bool = True) -> list[dict[str, Any]]:
        if not self.may_reconcile(member):
            raise PermissionError("zahlungsabgleich")
        query = sa.select(abgleich).where(abgleich.c.kind != MATCHED).order_by(abgleich.c.day, abgleich.c.pk)
        if open_only:
            query = query.where(abgleich.c.state == OPEN_FINDING)
        async with self.kernel.db.read() as s:
            rows = (await s.execute(query)).mappings().all()
        return [dict(r) for r in rows]

    async def resolve_finding(self, member: Staff, pk: int) -> None:
        if not self.may_reconcile(member):
            raise PermissionError("zahlungsabgleich")
        async with self.kernel.transaction() as uow:
            s = uow.session
            row = (await s.execute(sa.select(abgleich).where(abgleich.c.pk == pk))).mappings().first()
            if row is None or row["kind"] == MATCHED:
                raise DecisionRefused("Diesen Befund des Zahlungsabgleichs gibt es nicht.")
            if row["state"] == RESOLVED:
                raise DecisionRefused("Dieser Befund ist bereits geklärt.")
            await s.execute(
                abgleich.update()
                .where(abgleich.c.pk == pk)
                .values(state=RESOLVED, resolved_by=member.username, resolved_at=now())
            )
            case_id = None
            if row["claim_id"]:
                case_id = (
                    await s.execute(
                        sa.select(forderungen.c.case_id).where(forderungen.c.claim_id == row["claim_id"])
                    )
                ).scalar()
            await record(
                s,
                member.username,
                "abgleich_geklaert",
                case_id,
                {
                    "befund": row["kind"],
                    "kassenzeichen": row["kassenzeichen"],
                    "transaktion": row["transaction_id"],
                },
            )

    async def stadtkasse_csv(self, member: Staff, day: str) -> str:
        """The day's matched payments and booked refunds by booking line, as the Stadtkasse
        reads them: ``;``, decimal comma, German headers (the caller adds the BOM)."""
        if not self.may_reconcile(member):
            raise PermissionError("zahlungsabgleich")
        async with self.kernel.db.read() as s:
            paid = (
                await s.execute(
                    sa.select(abgleich.c.kassenzeichen, abgleich.c.paid_at, forderungen.c.lines)
                    .join(forderungen, forderungen.c.claim_id == abgleich.c.claim_id)
                    .where(abgleich.c.day == day, abgleich.c.kind == MATCHED)
                    .order_by(abgleich.c.pk)
                )
            ).all()
            refunds = (
                await s.execute(
                    sa.select(
                        erstattungen.c.amount_cents,
                        erstattungen.c.booked_at,
                        forderungen.c.kassenzeichen,
                        forderungen.c.amount_cents.label("fee"),
                        forderungen.c.lines,
                    )
                    .join(forderungen, forderungen.c.claim_id == erstattungen.c.claim_id)
                    .where(erstattungen.c.status == TASK_BOOKED)
                    .order_by(erstattungen.c.booked_at)
                )
            ).all()
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(CSV_HEADER)
        for kz, paid_at, lines in paid:
            when = local_day(paid_at).strftime("%d.%m.%Y") if paid_at else day
            for line in lines:
                writer.writerow(
                    [
                        "Zahlung",
                        when,
                        kz,
                        line["haushaltsstelle"],
                        line["objektnummer"],
                        line["text"],
                        csv_amount(int(line["amount_cents"])),
                    ]
                )
        for amount, booked_at, kz, fee, lines in refunds:
            if local_day(booked_at).isoformat() != day:
                continue
            when = local_day(booked_at).strftime("%d.%m.%Y")
            # the whole fee back: line by line; a part (a double payment): on the first line
            parts = (
                [(line, int(line["amount_cents"])) for line in lines]
                if amount == fee
                else [(lines[0], amount)]
            )
            for line, cents in parts:
                writer.writerow(
                    [
                        "Erstattung",
                        when,
                        kz,
                        line["haushaltsstelle"],
                        line["objektnummer"],
                        line["text"],
                        csv_amount(-cents),
                    ]
                )
        return out.getvalue()


__all__ = ["CASHIER_ROLES", "ORPHAN", "ReconciliationHandlers"]
