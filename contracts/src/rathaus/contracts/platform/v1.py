"""Events of the case orchestration (the workflow), version 1."""

from __future__ import annotations

import msgspec

from rathaus.contracts.envelope import DataClass, Event, contract


@contract(
    producer="platform", entity="case", happened="status-changed", version=1, data_class=DataClass.INTERNAL
)
class CaseStatusChanged(Event, frozen=True, kw_only=True):
    """The case moved to another step: what a citizen's "Meine Anträge" shows."""

    case_id: str
    service_id: str
    status: str  # eingegangen | in_pruefung | zur_entscheidung | entschieden | zugestellt
    at: str


@contract(
    producer="platform", entity="decision", happened="requested", version=1, data_class=DataClass.INTERNAL
)
class RequestDecision(Event, frozen=True, kw_only=True):
    """Command to the E-Akte: the case is complete; put it in the unit's inbox with a deadline."""

    case_id: str
    unit: str
    due_at: str
    mode: str = "clerk"  # "automatic": the E-Akte decides by the procedure's rule (§ 35a VwVfG)


@contract(
    producer="platform", entity="decision", happened="overdue", version=1, data_class=DataClass.INTERNAL
)
class DecisionOverdue(Event, frozen=True, kw_only=True):
    """A decision deadline passed: level 1 is a reminder, level 2 an escalation to the unit's lead."""

    case_id: str
    unit: str
    level: int
    due_at: str


@contract(
    producer="platform", entity="delivery", happened="requested", version=1, data_class=DataClass.INTERNAL
)
class DeliverDecision(Event, frozen=True, kw_only=True):
    """Command to output management: render and deliver the decision of this case."""

    case_id: str
    channel: str
    template: str


@contract(producer="platform", entity="fiction", happened="reached", version=1, data_class=DataClass.INTERNAL)
class FictionReached(Event, frozen=True, kw_only=True):
    """Command to the E-Akte: the decision deadline passed with no decision; the permit
    counts as granted (Genehmigungsfiktion, § 42a VwVfG) unless a decision came first."""

    case_id: str
    unit: str
    basis: str  # the legal basis of the fiction
    deadline: str  # ISO datetime the deadline ran out


# --- e-payment (XBezahldienste) --------------------------------------------------------


@contract(
    producer="platform", entity="payment", happened="requested", version=1, data_class=DataClass.PERSONAL
)
class PaymentRequested(Event, frozen=True, kw_only=True):
    """The workflow opened a payment attempt for the case's Forderung at the payment
    provider. PERSONAL although it names nobody: the payment page link lets its holder pay
    or cancel the citizen's attempt, so integrators do not see it."""

    case_id: str
    claim_id: str
    attempt: int  # 1, 2, …: a new attempt after a failed, cancelled or expired one
    transaction_id: str  # the provider's id (XBezahldienste transactionId)
    transaction_url: str  # the provider's payment page
    kassenzeichen: str
    amount_cents: int
    requested_at: str
    expires_at: str  # the attempt counts as abandoned after this (ISO datetime)


@contract(
    producer="platform", entity="payment", happened="completed", version=1, data_class=DataClass.INTERNAL
)
class PaymentCompleted(Event, frozen=True, kw_only=True):
    """The provider reported PAYED on a status query (never taken from a redirect)."""

    case_id: str
    claim_id: str
    attempt: int
    transaction_id: str
    kassenzeichen: str
    amount_cents: int
    payment_method: str  # GIROPAY | PAYDIRECT | CREDITCARD | PAYPAL | OTHER
    paid_at: str  # when the status query learned it (ISO datetime)
    late: bool = False  # PAYED after the attempt had been given up as failed or expired


@contract(producer="platform", entity="payment", happened="failed", version=1, data_class=DataClass.INTERNAL)
class PaymentFailed(Event, frozen=True, kw_only=True):
    """A payment attempt ended without money: the citizen may start a new one."""

    case_id: str
    claim_id: str
    attempt: int
    transaction_id: str
    status: str  # FAILED | CANCELED | EXPIRED (abandoned: no final status before expires_at)
    at: str


class SettledTransaction(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: str
    kassenzeichen: str  # the provider's transactionReference
    amount_cents: int
    status: str  # INITIAL | PAYED | FAILED | CANCELED
    paid_at: str = ""


@contract(producer="platform", entity="payment", happened="settled", version=1, data_class=DataClass.INTERNAL)
class PaymentsSettled(Event, frozen=True, kw_only=True):
    """The daily reconciliation job's report: every transaction the provider lists for
    the day, for the E-Akte to compare with the Forderungen (no payer data)."""

    day: str  # ISO date
    provider: str  # "xbezahldienste" | "test-provider"
    transactions: list[SettledTransaction]
    reported_at: str


@contract(
    producer="platform",
    entity="appointment",
    happened="reminder-due",
    version=1,
    data_class=DataClass.INTERNAL,
)
class AppointmentReminderDue(Event, frozen=True, kw_only=True):
    """The day before an appointment (a workflow timer): the portal e-mails the reminder."""

    appointment_id: str
    starts_at: str


@contract(
    producer="platform", entity="wiedervorlage", happened="due", version=1, data_class=DataClass.INTERNAL
)
class WiedervorlageDue(Event, frozen=True, kw_only=True):
    """A follow-up's day has come (a workflow timer): the E-Akte puts the case back into the
    inbox of whoever set it."""

    wiedervorlage_id: str
    case_id: str
    day: str


# --- the two-way Postkorb: Nachforderung deadlines ---------------------------------------


@contract(
    producer="platform", entity="documents", happened="overdue", version=1, data_class=DataClass.INTERNAL
)
class DocumentsOverdue(Event, frozen=True, kw_only=True):
    """Requested documents did not arrive in time: level 1 reminds the applicant (the
    portal e-mails), level 2 (after the grace period) tells staff to decide with what they
    have; the decision deadline runs again."""

    case_id: str
    request_id: str
    unit: str
    level: int
    deadline: str  # the Nachforderung's ISO date


@contract(
    producer="platform",
    entity="decision",
    happened="deadline-changed",
    version=1,
    data_class=DataClass.INTERNAL,
)
class DecisionDeadlineChanged(Event, frozen=True, kw_only=True):
    """The decision deadline rests while documents are requested and runs on when they
    arrive (or staff are told to decide without them): its new due date."""

    case_id: str
    unit: str
    paused: bool
    due_at: str = ""  # ISO datetime; "" while it rests
    at: str


# --- records management: Aussonderung when retention ends ------------------------------------


@contract(
    producer="platform",
    entity="aussonderung",
    happened="due",
    version=1,
    data_class=DataClass.INTERNAL,
)
class AussonderungDue(Event, frozen=True, kw_only=True):
    """Time to offer the files whose retention has ended to the archive (the daily Temporal
    schedule, or ``rathaus aussonderung``): the E-Akte starts an Aussonderung (xdomea
    0501/0503) with the files due on ``day``. No personal data."""

    day: str  # ISO date: files whose Aufbewahrungsende lies before it are due
    archive: str = ""  # the archive's code; "" = the configured one
    verfahren: str = ""  # auto | vierstufig | zweistufig; "" = the configured one
    trigger: str = "zeitplan"  # zeitplan | befehl
