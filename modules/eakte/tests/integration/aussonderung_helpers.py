"""Closed files for the Aussonderung tests: cases opened over the bus with a filed document,
then closed (zdA) with retention ended by setting the records fields directly (the zdA
action belongs to the lifecycle part); and the checks every test shares."""

from __future__ import annotations

import uuid
import zipfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from rathaus.contracts.input.v1 import DocumentRouted
from rathaus.eakte.store import aktenplan, documents, vorgaenge
from rathaus.eakte.xdomea.schema import validate

NOW = "2026-02-02T09:00:00+00:00"
AUTOMATISCH = {"angaben": {"exemplare": 1, "zweck": "Test"}}
MITZEICHNUNG = {
    "art": "geruest",
    "beginn": "2026-08-01",
    "ende": "2026-08-03",
    "strasse": "Tal",
    "flaechen": [{"bezeichnung": "Gerüst", "quadratmeter": 4}],
    "gebuehr": 30.0,
}


async def set_plan(kernel: Any, code: str, art: str | None, keep: str = "10") -> None:
    async with kernel.transaction() as uow:
        await uow.session.execute(
            aktenplan.update().where(aktenplan.c.code == code).values(aussonderungsart=art, aufbewahrung=keep)
        )


async def closed_case(
    office: Any,
    service: str,
    vorschlag: str | None,
    *,
    ende: str = "2020-12-31",
    lifecycle: str = "zda",
    text: bytes = b"%PDF-1.7 Testinhalt",
) -> dict[str, Any]:
    """A case with one filed document, closed with retention ended (``ende``)."""
    data = AUTOMATISCH if service == "test-automatisch" else MITZEICHNUNG
    case_id = await office.submit(service, data)
    opened = await office.wait_for("case.opened.v1", case_id)
    blob = await office.input.blobs.put(
        "input", text + uuid.uuid4().bytes, media_type="application/pdf", filename="antrag.pdf"
    )
    await office.emit(
        office.input,
        DocumentRouted(
            document_id=f"doc-{case_id[:8]}",
            case_id=case_id,
            unit="",
            document_type="antrag",
            title="Antrag",
            medium="online",
            source="portal",
            blob=blob,
            text="Antrag von Erika Mustermann",
            received_at=NOW,
        ),
        case_id,
    )
    await office.wait_for("document.filed.v1", case_id)
    async with office.eakte.transaction() as uow:
        await uow.session.execute(
            vorgaenge.update()
            .where(vorgaenge.c.case_id == case_id)
            .values(
                lifecycle=lifecycle,
                zda_at="2010-05-10T10:00:00+00:00",
                bewertungsvorschlag=vorschlag,
                aufbewahrungsende=ende,
            )
        )
    return {"case_id": case_id, "aktenzeichen": opened["aktenzeichen"], "blob": blob}


async def case(office: Any, case_id: str) -> dict[str, Any]:
    async with office.eakte.transaction() as uow:
        row = (
            (await uow.session.execute(sa.select(vorgaenge).where(vorgaenge.c.case_id == case_id)))
            .mappings()
            .one()
        )
        docs = (
            (await uow.session.execute(sa.select(documents).where(documents.c.case_id == case_id)))
            .mappings()
            .all()
        )
    return {**dict(row), "documents": [dict(d) for d in docs]}


def packages(folder: Path) -> list[Path]:
    """Every xdomea package under a transfer folder (including processed ones)."""
    return sorted(p for p in folder.rglob("*.xdomea") if not p.name.startswith("."))


def validate_all(folder: Path) -> dict[str, int]:
    """Validate the XML of every package against the xdomea 3.0.0 XSDs; count by type."""
    counts: dict[str, int] = {}
    for path in packages(folder):
        with zipfile.ZipFile(path) as archive:
            xmls = [n for n in archive.namelist() if n.endswith(".xml")]
            assert len(xmls) == 1, (path.name, xmls)
            assert xmls[0] == path.name.removesuffix(".xdomea") + ".xml"
            validate(archive.read(xmls[0]))
        code = path.name.removesuffix(".xdomea")[-4:]
        counts[code] = counts.get(code, 0) + 1
    return counts
