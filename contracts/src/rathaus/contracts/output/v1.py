"""Output management events, version 1."""

from __future__ import annotations

from typing import Any

from rathaus.contracts.common import BlobRef
from rathaus.contracts.envelope import DataClass, Event, contract


@contract(
    producer="output", entity="decision", happened="delivered", version=1, data_class=DataClass.INTERNAL
)
class DecisionDelivered(Event, frozen=True, kw_only=True):
    """The Bescheid was rendered, sealed and delivered; Bekanntgabe is the legal date of notice."""

    case_id: str
    aktenzeichen: str
    service_id: str
    outcome: str
    document: BlobRef  # the PDF/A Bescheid
    channel: str  # "postkorb" | "email" (the Bescheid attached) | "akte" (filed only, nothing sent)
    sent_at: str  # ISO datetime
    bekanntgabe: str  # ISO date ("akte": the day it was filed; nothing was notified)
    bekanntgabe_basis: str = ""  # the rule's legal basis, for staff (later: BekanntgabeDetermined)
    appeal_ends: str = ""  # ISO date: last day of the one-month appeal period; "" if none runs


@contract(producer="output", entity="notification", happened="sent", version=1, data_class=DataClass.PERSONAL)
class AuthorityNotified(Event, frozen=True, kw_only=True):
    """Data of a decided case sent to another authority the procedure names (for example the
    recipients of a Gewerbeanzeige under § 14 Abs. 8 GewO); only the fields it is entitled to."""

    case_id: str
    aktenzeichen: str
    service_id: str
    recipient: str  # a stable key, e.g. "finanzamt"
    recipient_name: str
    legal_basis: str
    data: dict[str, Any]
    sent_at: str


@contract(
    producer="output", entity="bekanntgabe", happened="determined", version=1, data_class=DataClass.INTERNAL
)
class BekanntgabeDetermined(Event, frozen=True, kw_only=True):
    """The day of notice of a delivered Bescheid was determined again after its first
    retrieval from the Postkorb (§ 9 Abs. 1 OZG): the retrieval day when it came before the
    presumed third day (``by_retrieval``), else the presumed day unchanged. Once per Bescheid;
    it replaces the ``bekanntgabe`` of DecisionDelivered."""

    case_id: str
    aktenzeichen: str
    sha256: str  # the Bescheid (BlobRef.sha256)
    channel: str
    provided_at: str  # ISO datetime: when it was provided (DecisionDelivered.sent_at)
    retrieved_at: str  # ISO datetime of the first retrieval
    presumed: str  # ISO date: the third day after provision, moved past weekends and holidays
    bekanntgabe: str  # ISO date: the day of notice
    by_retrieval: bool
    legal_basis: str
    appeal_ends: str = ""  # ISO date: last day of the one-month appeal period; "" if none runs
