"""Portal events, version 1."""

from __future__ import annotations

import msgspec

from rathaus.contracts.common import Address, BlobRef, Person
from rathaus.contracts.envelope import DataClass, Event, contract


class Applicant(msgspec.Struct, frozen=True, kw_only=True):
    person: Person
    address: Address
    email: str


class Attachment(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # the evidence it answers, e.g. "fahrzeugschein"
    blob: BlobRef


class EvidenceUse(msgspec.Struct, frozen=True, kw_only=True):
    """Register data the citizen previewed and confirmed for this application."""

    evidence_id: str
    registers: list[str]
    confirmed_at: str  # ISO datetime


@contract(
    producer="portal", entity="application", happened="submitted", version=1, data_class=DataClass.PERSONAL
)
class ApplicationSubmitted(Event, frozen=True, kw_only=True):
    """A citizen submitted an application online; opens a case (Vorgang)."""

    case_id: str
    service_id: str
    account_id: str
    applicant: Applicant
    form: dict[str, str]
    attachments: list[Attachment] = []
    evidence: list[EvidenceUse] = []
    submitted_at: str  # ISO datetime


# --- payments ----------------------------------------------------------------------------


@contract(producer="portal", entity="payment", happened="returned", version=1, data_class=DataClass.INTERNAL)
class PaymentReturned(Event, frozen=True, kw_only=True):
    """The citizen came back from the payment page: a hint to query the status now.
    Nothing on the return URL is trusted; the workflow asks the provider."""

    case_id: str
    returned_at: str


@contract(
    producer="portal",
    entity="payment",
    happened="restart-requested",
    version=1,
    data_class=DataClass.INTERNAL,
)
class PaymentRestartRequested(Event, frozen=True, kw_only=True):
    """The citizen asks for a new payment attempt ("Erneut bezahlen" in "Meine Anträge")
    after the last one failed, was cancelled or expired."""

    case_id: str
    claim_id: str
    requested_at: str


# --- appointments ------------------------------------------------------------------------


@contract(
    producer="portal", entity="appointment", happened="booked", version=1, data_class=DataClass.PERSONAL
)
class AppointmentBooked(Event, frozen=True, kw_only=True):
    """A confirmed appointment in a Bürgerbüro (also after a rebooking: the new one)."""

    appointment_id: str
    reference: str  # the booking number the citizen shows at the counter
    case_id: str  # "" when booked without an online application
    service_id: str
    location: str
    starts_at: str  # ISO datetime, local time with offset
    ends_at: str
    persons: int
    name: str  # the contact name staff call at the counter
    booked_at: str


@contract(
    producer="portal", entity="appointment", happened="cancelled", version=1, data_class=DataClass.INTERNAL
)
class AppointmentCancelled(Event, frozen=True, kw_only=True):
    appointment_id: str
    case_id: str
    location: str
    reason: str  # citizen | rebooked | staff
    cancelled_at: str


# --- the two-way Postkorb -------------------------------------------------------------------


class ReplyAttachment(msgspec.Struct, frozen=True, kw_only=True):
    document_type: str  # the requested document it answers, or "nachreichung"
    title: str
    blob: BlobRef


@contract(producer="portal", entity="reply", happened="submitted", version=1, data_class=DataClass.PERSONAL)
class ReplySubmitted(Event, frozen=True, kw_only=True):
    """The applicant answered in the case's Postkorb thread; input management reads the
    attachments and routes the reply into the E-Akte."""

    case_id: str
    reply_id: str
    in_reply_to: str = ""  # the authority's message it answers
    account_id: str
    text: str
    attachments: list[ReplyAttachment] = []
    submitted_at: str


# --- Bekanntgabe: the first retrieval of a Bescheid from the Postkorb --------------------


@contract(
    producer="portal", entity="document", happened="retrieved", version=1, data_class=DataClass.INTERNAL
)
class DocumentRetrieved(Event, frozen=True, kw_only=True):
    """A Bescheid provided in a Postkorb was retrieved for the first time (opened or
    downloaded by the account it was provided to, or by a member of that organisation).
    Under § 9 Abs. 1 OZG this is its day of notice when it comes before the third day after
    the provision. Once per document; who retrieved it and from where is not here (see
    ``RetrievalRecorded``)."""

    retrieval_id: str
    case_id: str
    sha256: str  # the document's BlobRef.sha256, as in DecisionDelivered
    retrieved_at: str  # ISO datetime (UTC)


@contract(
    producer="portal", entity="retrieval", happened="recorded", version=1, data_class=DataClass.PERSONAL
)
class RetrievalRecorded(Event, frozen=True, kw_only=True):
    """The evidence of a first retrieval for the case file (the authority must be able to
    prove the provision and its retrieval): who, when and from where, as the portal saw it.
    Same ``retrieval_id`` as the ``DocumentRetrieved`` of the same transaction."""

    retrieval_id: str
    case_id: str
    sha256: str
    retrieved_at: str  # ISO datetime (UTC)
    account_id: str
    name: str  # the account holder's name as the account shows it
    organisation: str = ""  # the organisation's name when retrieved from its Postkorb
    client_address: str  # the client address the portal saw (behind a proxy: the proxy's view)
    user_agent: str
