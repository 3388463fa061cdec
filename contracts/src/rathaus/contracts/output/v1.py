"""Output management events, version 1."""

from __future__ import annotations

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
    channel: str  # "postkorb"
    sent_at: str  # ISO datetime
    bekanntgabe: str  # ISO date
