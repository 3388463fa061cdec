"""The payment step's activities: open a payment attempt at the provider and ask it for
the attempt's status (XBezahldienste: the result is learned by status query, never from
the citizen's redirect); the daily settlement report for the reconciliation.

Only ids, amounts and statuses cross into the workflow, never a citizen's data.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from rathaus.contracts.platform.v1 import PaymentRequested, PaymentsSettled, SettledTransaction
from rathaus.platform.kernel import Kernel
from rathaus.platform.kernel.mail import portal_url
from rathaus.platform.kernel.outbox import outbox_table
from rathaus.platform.kernel.payment import (
    PaymentItem,
    PaymentProviderDown,
    PaymentRefused,
    PaymentRequest,
    XBezahldiensteClient,
    payment_provider,
)
from rathaus.platform.kernel.telemetry import case_context

NAMESPACE = uuid.UUID("3f1d2b8e-0c55-4a57-b7a4-62657a61686c")
# refusals that a corrected configuration cures: the activity keeps trying (and logs)
CONFIGURATION = {"FORBIDDEN", "NO_VALID_ORIGINATOR_OR_ENDPOINT"}


def refusal(refused: PaymentRefused) -> ApplicationError:
    """A refused request: final when the request itself is wrong, retried when the
    credentials or the originator/endpoint are (an operator fixes the settings)."""
    return ApplicationError(
        f"{refused.code}: {refused.detail}",
        type="PaymentRefused",
        non_retryable=refused.code not in CONFIGURATION,
    )


@dataclass
class StartPayment:
    """One payment attempt for a case's Forderung (from ClaimCreated)."""

    case_id: str
    claim_id: str
    attempt: int
    kassenzeichen: str
    amount_cents: int
    purpose: str
    description: str
    lines: str  # JSON list of booking lines (tariff, haushaltsstelle, objektnummer, text, amount_cents)
    expires_at: str


@dataclass
class Attempt:
    transaction_id: str
    url: str


@dataclass
class Observed:
    """What a status query found."""

    status: str  # INITIAL | PAYED | FAILED | CANCELED
    amount_cents: int
    payment_method: str


def request_id(case_id: str, claim_id: str, attempt: int) -> str:
    """The idempotency key of an attempt: a retried or replayed activity opens no second one."""
    return str(uuid.uuid5(NAMESPACE, f"{case_id}:{claim_id}:{attempt}"))


def items_of(command: StartPayment) -> list[PaymentItem]:
    lines = json.loads(command.lines or "[]")
    if not lines:
        lines = [{"tariff": "gebuehr", "text": command.purpose, "amount_cents": command.amount_cents}]
    return [
        PaymentItem(
            id=str(n),
            reference=command.kassenzeichen,
            description=str(line.get("text", ""))[:250],
            total_cents=int(line["amount_cents"]),
            booking_data={
                k: str(line[k]) for k in ("tariff", "haushaltsstelle", "objektnummer") if line.get(k)
            },
        )
        for n, line in enumerate(lines, start=1)
    ]


class PaymentActivities:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._provider: XBezahldiensteClient | None = None

    @property
    def provider(self) -> XBezahldiensteClient:
        if self._provider is None:
            self._provider = payment_provider(self.kernel.settings)
        return self._provider

    async def close(self) -> None:
        if self._provider is not None:
            await self._provider.aclose()

    @activity.defn(name="start_payment")
    async def start_payment(self, command: StartPayment) -> Attempt:
        """Open the attempt (idempotent by its request id) and tell the portal where to pay."""
        request = PaymentRequest(
            request_id=request_id(command.case_id, command.claim_id, command.attempt),
            amount_cents=command.amount_cents,
            purpose=command.purpose[:27],
            description=command.description[:250],
            redirect_url=f"{portal_url(self.kernel.settings)}/antraege/{command.case_id}/zahlung",
            items=items_of(command),
            reference=command.kassenzeichen,
        )
        try:
            transaction = await self.provider.create(request)
        except PaymentRefused as refused:  # a wrong request is final, a wrong configuration not
            raise refusal(refused) from refused
        except PaymentProviderDown as down:  # the activity's retry policy tries again
            raise ApplicationError(str(down), type="PaymentProviderDown") from down
        event_id = str(uuid.uuid5(NAMESPACE, f"{command.case_id}:payment-requested:{command.attempt}"))
        with case_context(command.case_id):
            async with self.kernel.transaction() as uow:
                already = await uow.session.execute(
                    outbox_table.select().where(outbox_table.c.event_id == event_id)
                )
                if already.first() is None:
                    await uow.emit(
                        PaymentRequested(
                            case_id=command.case_id,
                            claim_id=command.claim_id,
                            attempt=command.attempt,
                            transaction_id=transaction.transaction_id,
                            transaction_url=transaction.url,
                            kassenzeichen=command.kassenzeichen,
                            amount_cents=command.amount_cents,
                            requested_at=datetime.now(UTC).isoformat(),
                            expires_at=command.expires_at,
                        ),
                        subject=command.case_id,
                        event_id=event_id,
                    )
        return Attempt(transaction_id=transaction.transaction_id, url=transaction.url)

    @activity.defn(name="payment_status")
    async def payment_status(self, transaction_id: str) -> Observed:
        """One status query; the workflow decides when to ask again (provider down: an error)."""
        try:
            transaction = await self.provider.status(transaction_id)
        except PaymentRefused as refused:  # a wrong request is final, a wrong configuration not
            raise refusal(refused) from refused
        except PaymentProviderDown as down:
            raise ApplicationError(str(down), type="PaymentProviderDown") from down
        return Observed(
            status=str(transaction.status),
            amount_cents=transaction.settled_cents,
            payment_method=transaction.payment_method or "OTHER",
        )

    @activity.defn(name="report_settlement")
    async def report_settlement(self, day: str) -> int:
        """The provider's transactions of a day as one event for the E-Akte's reconciliation;
        a second run with the same report publishes nothing new. Returns the count."""
        try:
            transactions = await self.provider.settlement(date.fromisoformat(day))
        except PaymentRefused as refused:  # a wrong request is final, a wrong configuration not
            raise refusal(refused) from refused
        except PaymentProviderDown as down:
            raise ApplicationError(str(down), type="PaymentProviderDown") from down
        settled = [
            SettledTransaction(
                transaction_id=t.transaction_id,
                kassenzeichen=t.reference,
                amount_cents=t.settled_cents,
                status=str(t.status),
                paid_at=t.paid_at,
            )
            for t in sorted(transactions, key=lambda t: t.transaction_id)
        ]
        digest = hashlib.sha256(
            json.dumps([(s.transaction_id, s.status, s.amount_cents) for s in settled]).encode()
        ).hexdigest()
        event_id = str(uuid.uuid5(NAMESPACE, f"settlement:{day}:{digest}"))
        async with self.kernel.transaction() as uow:
            already = await uow.session.execute(
                outbox_table.select().where(outbox_table.c.event_id == event_id)
            )
            if already.first() is None:
                await uow.emit(
                    PaymentsSettled(
                        day=day,
                        provider=self.provider.name,
                        transactions=settled,
                        reported_at=datetime.now(UTC).isoformat(),
                    ),
                    subject=f"abgleich-{day}",
                    event_id=event_id,
                )
        return len(settled)
