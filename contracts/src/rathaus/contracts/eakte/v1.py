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
