"""Portal events, version 2: services as data (any form shape, any applicant)."""

from __future__ import annotations

from typing import Any

import msgspec

from rathaus.contracts.common import BlobRef
from rathaus.contracts.common_v2 import Party
from rathaus.contracts.envelope import DataClass, Event, contract
from rathaus.contracts.portal.v1 import EvidenceUse


class AttachedFile(msgspec.Struct, frozen=True, kw_only=True):
    field: str  # the form's file field it was uploaded to, e.g. "fahrzeugschein"
    document_type: str  # the E-Akte's document type
    title: str  # the field's label
    blob: BlobRef


@contract(
    producer="portal", entity="application", happened="submitted", version=2, data_class=DataClass.PERSONAL
)
class ApplicationSubmitted(Event, frozen=True, kw_only=True):
    """An application was submitted online; opens a case (Vorgang).

    ``data`` holds the form's values by field name as the engine kept them (JSON: text,
    numbers, booleans, ISO dates; a repeating group as a list of rows). The procedure
    version is pinned by ``service_version`` and ``procedure_digest``: the case keeps it
    to its end.
    """

    case_id: str
    service_id: str
    service_version: int
    procedure_digest: str
    applicant: Party
    data: dict[str, Any]
    attachments: list[AttachedFile] = []
    evidence: list[EvidenceUse] = []
    warnings: list[str] = []  # German hints the applicant saw and submitted anyway
    stadtbezirk: str = ""  # where the case lies, for statistics ("" unknown)
    submitted_at: str  # ISO datetime
