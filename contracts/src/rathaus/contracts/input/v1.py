"""Input management events, version 1."""

from __future__ import annotations

import msgspec

from rathaus.contracts.common import BlobRef
from rathaus.contracts.envelope import DataClass, Event, contract


@contract(producer="input", entity="document", happened="routed", version=1, data_class=DataClass.PERSONAL)
class DocumentRouted(Event, frozen=True, kw_only=True):
    """An incoming document was read (OCR), classified and routed to a case and unit."""

    document_id: str
    case_id: str
    unit: str  # responsible organisational unit, e.g. "KVR-III/12"
    document_type: str  # e.g. "fahrzeugschein", "schreiben"
    title: str  # Betreff
    medium: str  # "online" | "papier"
    source: str  # "portal" | "scan" | "eingangsordner"
    blob: BlobRef
    text: str  # OCR or extracted text
    ocr_confidence: float | None = None
    received_at: str  # Posteingangsdatum, ISO datetime


class RoutedDocument(msgspec.Struct, frozen=True, kw_only=True):
    document_id: str
    document_type: str
    title: str
    blob: BlobRef
    text: str  # OCR or extracted text
    ocr_confidence: float | None = None


@contract(producer="input", entity="reply", happened="routed", version=1, data_class=DataClass.PERSONAL)
class ReplyRouted(Event, frozen=True, kw_only=True):
    """A reply from the Postkorb was taken in: its attachments checked and read (OCR), all
    of it routed to the case at once, for the E-Akte to file."""

    case_id: str
    reply_id: str
    in_reply_to: str = ""
    unit: str
    text: str  # what the applicant wrote
    documents: list[RoutedDocument] = []
    received_at: str  # Posteingangsdatum, ISO datetime
