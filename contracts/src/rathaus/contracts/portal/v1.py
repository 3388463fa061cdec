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
