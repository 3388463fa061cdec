"""The fee's payment as the citizen sees it: the attempts the case workflow opened at the
payment provider, their outcome, the way back from the payment page and a new attempt.

Nothing the browser brings back from the payment page is trusted: coming back only asks
the workflow to query the provider now; what counts is the provider's status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from rathaus.contracts.platform.v1 import PaymentCompleted, PaymentFailed, PaymentRequested
from rathaus.contracts.portal.v1 import PaymentRestartRequested, PaymentReturned
from rathaus.platform.kernel import UnitOfWork
from rathaus.portal.domain import Account
from rathaus.portal.handlers.base import Base, now
from rathaus.portal.handlers.organisations import visible_to
from rathaus.portal.store import applications, payments

ENDED = {"FAILED": "fehlgeschlagen", "CANCELED": "abgebrochen", "EXPIRED": "abgelaufen"}
MSG_NOTHING_TO_RESTART = (
    "Für diesen Antrag ist keine neue Zahlung möglich: Es ist keine Zahlung offen oder fehlgeschlagen."
)


@dataclass(frozen=True)
class PaymentState:
    """The newest attempt of a case, and whether the fee is paid."""

    paid: bool
    status: str  # offen | bezahlt | fehlgeschlagen | abgebrochen | abgelaufen
    attempt: int
    amount_cents: int
    kassenzeichen: str
    url: str
    expires_at: str
    paid_at: str
    restart_requested: bool

    @property
    def ended(self) -> bool:
        return self.status in ENDED.values()


def state_of(rows: list[dict[str, Any]]) -> PaymentState | None:
    if not rows:
        return None
    paid = next((r for r in rows if r["status"] == "bezahlt"), None)
    row = paid or max(rows, key=lambda r: r["attempt"])
    return PaymentState(
        paid=paid is not None,
        status=row["status"],
        attempt=row["attempt"],
        amount_cents=row["amount_cents"],
        kassenzeichen=row["kassenzeichen"],
        url=row["transaction_url"],
        expires_at=row["expires_at"],
        paid_at=row["paid_at"] or "",
        restart_requested=bool(row["restart_requested_at"]),
    )


class Payments(Base):
    async def _attempt(self, uow: UnitOfWork, case_id: str, attempt: int) -> dict[str, Any] | None:
        row = (
            (
                await uow.session.execute(
                    sa.select(payments).where(payments.c.case_id == case_id, payments.c.attempt == attempt)
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    async def on_payment_requested(self, event: PaymentRequested, uow: UnitOfWork) -> None:
        """A new attempt: where to pay it (its outcome may have arrived first)."""
        values = {
            "claim_id": event.claim_id,
            "transaction_id": event.transaction_id,
            "transaction_url": event.transaction_url,
            "kassenzeichen": event.kassenzeichen,
            "amount_cents": event.amount_cents,
            "requested_at": event.requested_at,
            "expires_at": event.expires_at,
        }
        if await self._attempt(uow, event.case_id, event.attempt) is None:
            await uow.session.execute(
                payments.insert().values(
                    case_id=event.case_id, attempt=event.attempt, status="offen", **values
                )
            )
        else:
            await uow.session.execute(
                payments.update()
                .where(payments.c.case_id == event.case_id, payments.c.attempt == event.attempt)
                .values(**values)
            )

    async def on_payment_completed(self, event: PaymentCompleted, uow: UnitOfWork) -> None:
        """Paid (by the provider's status, also late after a failure): final."""
        if await self._attempt(uow, event.case_id, event.attempt) is None:
            await uow.session.execute(
                payments.insert().values(
                    case_id=event.case_id,
                    attempt=event.attempt,
                    claim_id=event.claim_id,
                    transaction_id=event.transaction_id,
                    transaction_url="",
                    kassenzeichen=event.kassenzeichen,
                    amount_cents=event.amount_cents,
                    status="bezahlt",
                    requested_at=event.paid_at,
                    expires_at=event.paid_at,
                    paid_at=event.paid_at,
                )
            )
            return
        await uow.session.execute(
            payments.update()
            .where(payments.c.case_id == event.case_id, payments.c.attempt == event.attempt)
            .values(status="bezahlt", paid_at=event.paid_at)
        )

    async def on_payment_failed(self, event: PaymentFailed, uow: UnitOfWork) -> None:
        """An attempt ended without money (a later PAYED still overrides it)."""
        status = ENDED.get(event.status, "fehlgeschlagen")
        row = await self._attempt(uow, event.case_id, event.attempt)
        if row is None:
            await uow.session.execute(
                payments.insert().values(
                    case_id=event.case_id,
                    attempt=event.attempt,
                    claim_id=event.claim_id,
                    transaction_id=event.transaction_id,
                    transaction_url="",
                    kassenzeichen="",
                    amount_cents=0,
                    status=status,
                    requested_at=event.at,
                    expires_at=event.at,
                )
            )
        elif row["status"] != "bezahlt":
            await uow.session.execute(
                payments.update()
                .where(payments.c.case_id == event.case_id, payments.c.attempt == event.attempt)
                .values(status=status)
            )

    async def payments_of(self, account: Account, case_ids: list[str]) -> dict[str, PaymentState]:
        """The payment state of these cases of the account (cases without attempts left out)."""
        if not case_ids:
            return {}
        async with self.kernel.db.read() as s:
            rows = (
                (
                    await s.execute(
                        sa.select(payments)
                        .join(applications, applications.c.case_id == payments.c.case_id)
                        .where(payments.c.case_id.in_(case_ids), visible_to(applications, account.account_id))
                    )
                )
                .mappings()
                .all()
            )
        by_case: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_case.setdefault(r["case_id"], []).append(dict(r))
        return {case_id: state for case_id, rs in by_case.items() if (state := state_of(rs)) is not None}

    def expects_payment_first(self, app: dict[str, Any]) -> bool:
        """Whether the case's procedure version asks for the fee before processing: then
        the case page waits for the first attempt to appear."""
        try:
            definition = self.kernel.procedures.get(app["service_id"], app.get("service_version") or 1)
        except LookupError:
            return False
        return definition.procedure.fee.payment == "before" and app["status"] != "zugestellt"

    async def applications_with_payments(self, account: Account) -> list[dict[str, Any]]:
        """ "Meine Anträge" with each case's payment state (``zahlung``: "" when none)."""
        rows: list[dict[str, Any]] = await self.applications_of(account)  # type: ignore[attr-defined]
        states = await self.payments_of(account, [r["case_id"] for r in rows])
        for r in rows:
            state = states.get(r["case_id"])
            r["zahlung"] = "" if state is None else ("bezahlt" if state.paid else state.status)
        return rows

    async def payment_of(self, account: Account, case_id: str) -> PaymentState | None:
        return (await self.payments_of(account, [case_id])).get(case_id)

    async def _visible(self, uow: UnitOfWork, account: Account, case_id: str) -> bool:
        row = await uow.session.execute(
            sa.select(applications.c.case_id).where(
                applications.c.case_id == case_id, visible_to(applications, account.account_id)
            )
        )
        return row.first() is not None

    async def payment_returned(self, account: Account, case_id: str) -> bool:
        """The citizen is back from the payment page: ask the workflow to look now. False
        for a case that is not the account's."""
        async with self.kernel.transaction() as uow:
            if not await self._visible(uow, account, case_id):
                return False
            await uow.emit(PaymentReturned(case_id=case_id, returned_at=now()), subject=case_id)
        return True

    async def restart_payment(self, account: Account, case_id: str) -> str | None:
        """A new attempt after a failed, cancelled or expired one; a German message when
        there is nothing to start again (asking twice starts one attempt)."""
        async with self.kernel.transaction() as uow:
            if not await self._visible(uow, account, case_id):
                return MSG_NOTHING_TO_RESTART
            rows = (
                (await uow.session.execute(sa.select(payments).where(payments.c.case_id == case_id)))
                .mappings()
                .all()
            )
            state = state_of([dict(r) for r in rows])
            if state is None or state.paid or not state.ended:
                return MSG_NOTHING_TO_RESTART
            if state.restart_requested:
                return None  # already asked for; the new attempt is being prepared
            claim_id = next(r["claim_id"] for r in rows if r["attempt"] == state.attempt)
            at = now()
            await uow.session.execute(
                payments.update()
                .where(payments.c.case_id == case_id, payments.c.attempt == state.attempt)
                .values(restart_requested_at=at)
            )
            await uow.emit(
                PaymentRestartRequested(case_id=case_id, claim_id=claim_id, requested_at=at), subject=case_id
            )
        return None
