"""A case with filed documents for the records-management tests (audit verify, Abgabe,
data protection)."""

from __future__ import annotations

from typing import Any

from rathaus.contracts.input.v1 import DocumentRouted
from rathaus.platform.testing import eventually

NOW = "2026-11-23T10:15:00+00:00"
FORM = {
    "vorhaben": {
        "art": "container",
        "beginn": "2026-12-01",
        "ende": "2026-12-03",
        "ort": {"strasse": "Zenettistraße 12"},
        "flaechen": [{"bezeichnung": "Gehweg", "quadratmeter": 6}],
    }
}


async def case_with_documents(office: Any, documents: dict[str, tuple[str, bytes, str]]) -> str:
    """A test-mitzeichnung case with documents ``{document_id: (title, bytes, text)}``,
    opened and filed; returns its case id."""
    case_id = await office.submit("test-mitzeichnung", FORM)
    await office.wait_for("case.opened.v1", case_id)
    for document_id, (title, data, text) in documents.items():
        blob = await office.input.blobs.put(
            "input", data, media_type="application/pdf", filename=f"{document_id}.pdf"
        )
        await office.emit(
            office.input,
            DocumentRouted(
                document_id=document_id,
                case_id=case_id,
                unit="BAU-T/31",
                document_type="nachweis",
                title=title,
                medium="online",
                source="portal",
                blob=blob,
                text=text,
                received_at=NOW,
            ),
            case_id,
        )

    async def filed() -> bool:
        names = {e["data"]["document_id"] for e in office.of("document.filed.v1", case_id)}
        return set(documents) <= names

    await eventually(filed, timeout=30)
    return case_id
