"""E-Akte events, version 1."""

from __future__ import annotations

import msgspec

from rathaus.contracts.common import Address, Person
from rathaus.contracts.envelope import DataClass, Event, contract


@contract(producer="eakte", entity="case", happened="opened", version=1, data_class=DataClass.INTERNAL)
class CaseOpened(Event, frozen=True, kw_only=True):
    """An Akte and a Vorgang exist for the case; it has its Aktenzeichen."""

    case_id: str
    aktenzeichen: str  # file-plan code + serial number
    service_id: str
    unit: str
    stadtbezirk: str = ""
    opened_at: str
    service_version: int = 0  # 0: an application of version 1 contracts (before services as data)
    submitted_at: str = ""  # ISO datetime the application came in, for processing times


@contract(producer="eakte", entity="document", happened="filed", version=1, data_class=DataClass.INTERNAL)
class DocumentFiled(Event, frozen=True, kw_only=True):
    case_id: str
    aktenzeichen: str
    document_id: str
    document_type: str
    sha256: str
    version: int
    filed_at: str


class Recipient(msgspec.Struct, frozen=True, kw_only=True):
    person: Person
    address: Address
    email: str


@contract(producer="eakte", entity="decision", happened="made", version=1, data_class=DataClass.PERSONAL)
class DecisionMade(Event, frozen=True, kw_only=True):
    """Staff decided the case; carries what the Bescheid needs."""

    case_id: str
    aktenzeichen: str
    service_id: str
    outcome: str  # "granted" | "refused"
    reasons: str
    recipient: Recipient
    facts: dict[str, str]  # the decided data, e.g. kennzeichen, parkzone, gueltig_bis
    unit: str
    decided_by: str  # staff id (pseudonymous)
    decided_at: str


# --- fees (Forderung) --------------------------------------------------------------------


class BookingLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a Forderung as the Stadtkasse books it."""

    tariff: str  # the fee catalogue's entry (gebuehren.toml)
    haushaltsstelle: str
    objektnummer: str
    text: str
    amount_cents: int


@contract(producer="eakte", entity="claim", happened="created", version=1, data_class=DataClass.INTERNAL)
class ClaimCreated(Event, frozen=True, kw_only=True):
    """The case's fee as a Forderung: its Kassenzeichen, booking lines and amount from the
    fee catalogue valid on the day the application came in."""

    case_id: str
    claim_id: str
    kassenzeichen: str
    amount_cents: int
    payment: str  # before | after_decision | optional (the procedure's payment policy)
    purpose: str  # at most 27 characters (XBezahldienste purpose)
    description: str  # at most 250 characters, no personal data
    lines: list[BookingLine]
    service_id: str
    created_at: str


@contract(producer="eakte", entity="claim", happened="refunded", version=1, data_class=DataClass.INTERNAL)
class ClaimRefunded(Event, frozen=True, kw_only=True):
    """A paid fee was refunded (booked for the Stadtkasse) after a second staff member
    approved it; XBezahldienste has no refund call."""

    case_id: str
    claim_id: str
    kassenzeichen: str
    amount_cents: int
    reason: str  # refused | double_payment | overpayment | other
    proposed_by: str  # staff ids
    approved_by: str
    booked_at: str


@contract(
    producer="eakte", entity="appointment", happened="checked-in", version=1, data_class=DataClass.INTERNAL
)
class AppointmentCheckedIn(Event, frozen=True, kw_only=True):
    """The citizen came to the Bürgerbüro: the case that waited for the visit moves on."""

    appointment_id: str
    case_id: str  # "" for an appointment without an online application
    location: str
    checked_in_at: str
    checked_in_by: str  # staff id


# --- the two-way Postkorb -------------------------------------------------------------------


class RequestedDocument(msgspec.Struct, frozen=True, kw_only=True):
    """One document a Nachforderung asks for."""

    document_type: str  # the E-Akte's document type it will be filed as, e.g. "nachweis"
    title: str  # what the citizen is asked to send, in German


@contract(producer="eakte", entity="message", happened="sent", version=1, data_class=DataClass.PERSONAL)
class MessageSent(Event, frozen=True, kw_only=True):
    """Staff wrote to the applicant in the case's Postkorb thread (filed in the E-Akte).
    PERSONAL: the text speaks of the citizen's affairs; integrators see DocumentsRequested."""

    case_id: str
    message_id: str
    aktenzeichen: str
    subject: str  # Betreff
    text: str
    template: str = ""  # the template it was written from ("" for free text)
    requested: list[RequestedDocument] = []  # a Nachforderung when not empty
    deadline: str = ""  # ISO date by which the documents are due ("" without a Nachforderung)
    unit: str
    sent_by: str  # staff id (pseudonymous)
    sent_at: str


@contract(
    producer="eakte", entity="documents", happened="requested", version=1, data_class=DataClass.INTERNAL
)
class DocumentsRequested(Event, frozen=True, kw_only=True):
    """A Nachforderung: the case waits for documents (§ 71b Abs. 4 VwVfG); no text, no names."""

    case_id: str
    request_id: str  # the message that asks
    service_id: str
    unit: str
    count: int  # how many documents are asked for
    deadline: str  # ISO date (Munich) by which they are due
    grace_days: float  # after the deadline and a reminder: staff decide with what they have
    requested_at: str


@contract(producer="eakte", entity="reply", happened="filed", version=1, data_class=DataClass.INTERNAL)
class ReplyFiled(Event, frozen=True, kw_only=True):
    """The applicant's reply and its attachments are filed in the E-Akte."""

    case_id: str
    reply_id: str
    request_id: str = ""  # the Nachforderung it answers ("" for a reply to a plain message)
    documents_filed: int  # attachments filed (the reply's text is filed besides)
    requested: int  # documents the Nachforderung asked for (0 when none)
    complete: bool  # at least as many documents arrived as were asked for
    filed_at: str
    received_at: str = ""  # when the citizen sent it (what a deadline is judged by); "" before 2026-11-30


# --- Wiedervorlage (follow-up): a Temporal timer per follow-up, no note, no names ---------


@contract(producer="eakte", entity="wiedervorlage", happened="set", version=1, data_class=DataClass.INTERNAL)
class WiedervorlageSet(Event, frozen=True, kw_only=True):
    """A case worker set a follow-up date on a case: the platform times it (the note stays in
    the E-Akte)."""

    wiedervorlage_id: str
    case_id: str
    day: str  # ISO date (Munich): the case comes back at the start of this day
    set_at: str


@contract(
    producer="eakte", entity="wiedervorlage", happened="cancelled", version=1, data_class=DataClass.INTERNAL
)
class WiedervorlageCancelled(Event, frozen=True, kw_only=True):
    """A follow-up was lifted before its day: its timer is cancelled."""

    wiedervorlage_id: str
    case_id: str
    cancelled_at: str
