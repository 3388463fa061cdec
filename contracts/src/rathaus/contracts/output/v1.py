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
    bekanntgabe: str  # ISO date


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
