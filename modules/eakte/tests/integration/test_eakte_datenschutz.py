"""Data protection inside records: an erasure request (Art. 17 DSGVO) during retention
restricts processing (visible, edits refused, data kept) until the disposal deletes; the
Akteneinsicht export removes redacted words for real — extracted with pypdfium2 they are
gone, and scanned pages carry only the painted image, no text."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pypdfium2
import pytest
import sqlalchemy as sa
from PIL import Image, ImageDraw, ImageFont

from modules.eakte.tests.integration.records_helpers import case_with_documents
from rathaus.eakte import PREFIX
from rathaus.eakte.domain import DecisionRefused, Staff
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.handlers.datenschutz import record_erasure, restricted, state_of
from rathaus.eakte.redaction import ocr_words
from rathaus.eakte.store import audit, vorgaenge
from rathaus.platform.kernel.pdfium import PDFIUM_LOCK

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def born_digital() -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(
        string='<html lang="de"><body><p style="font-size:14pt">Antrag von Erika Mustermann, wohnhaft '
        "Zenettistraße 12 in München. Der Container steht auf dem Gehweg.</p></body></html>"
    ).write_pdf()
    return pdf


def scanned() -> bytes:
    """An image-only PDF, as a scanner makes it: no text layer."""
    image = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 40)
    draw.text((100, 200), "Vollmacht für Erika Mustermann", fill="black", font=font)
    draw.text((100, 300), "Unterschrift des Bevollmächtigten", fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=150)
    return buffer.getvalue()


def pages_of(pdf: bytes) -> list[tuple[str, int, Image.Image]]:
    """Per page: its extractable text, its number of text characters, its rendering."""
    found = []
    with PDFIUM_LOCK:
        doc = pypdfium2.PdfDocument(pdf)
        for index in range(len(doc)):
            page = doc[index]
            textpage = page.get_textpage()
            found.append(
                (textpage.get_text_range(), textpage.count_chars(), page.render(scale=150 / 72).to_pil())
            )
        doc.close()
    return found


async def test_an_erasure_request_restricts_processing_and_the_export_removes_redacted_words(
    office: Any, clerk_of: Any
) -> None:
    case_id = await case_with_documents(
        office,
        {
            "antrag-1": (
                "Antrag",
                await asyncio.to_thread(born_digital),
                "Antrag von Erika Mustermann, wohnhaft Zenettistraße 12 in München.",
            ),
            "vollmacht-1": (
                "Vollmacht (Scan)",
                await asyncio.to_thread(scanned),
                "Vollmacht für Erika Mustermann\nUnterschrift des Bevollmächtigten",
            ),
        },
    )
    clerk = await clerk_of("BAU-T/31")
    page_path = f"{PREFIX}/vorgaenge/{case_id}"

    # -- Akteneinsicht: redacted words are gone from the file, not covered ----------------
    response = await clerk.post(
        f"{page_path}/akteneinsicht", {"schwaerzungen": "Mustermann\n zenettistraße  12 \n"}, page=page_path
    )
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    pages = await asyncio.to_thread(pages_of, response.content)
    text = "".join(t for t, _, _ in pages)
    assert "Mustermann" not in text and "Zenettistraße" not in text and "Zenettistrasse" not in text
    assert "wohnhaft" in text and "Bevollmächtigten" in text and "[geschwärzt]" in text  # the rest is kept
    assert "Gehweg" in text  # the application's data (the case's Angaben) is in the export too
    # the cover, two document pages as images only (no text layer at all), the appendix
    assert len(pages) == 4
    assert [chars for _, chars, _ in pages[1:3]] == [0, 0]
    # on the scanned page, OCR of the export finds the rest of the line but not the name
    words = [w for w, _ in await asyncio.to_thread(ocr_words, pages[2][2])]
    assert "Vollmacht" in words and not any("Mustermann" in w for w in words)
    words = [w for w, _ in await asyncio.to_thread(ocr_words, pages[1][2])]
    assert "wohnhaft" in words and not any("Mustermann" in w or "Zenetti" in w for w in words)

    # -- Art. 17 request during retention: restricted, visible, kept, not processed ----------
    page = await clerk.post(f"{page_path}/datenschutz", {"reference": "", "reason": ""}, page=page_path)
    assert "Bitte geben Sie das Geschäftszeichen" in page.text
    page = await clerk.post(
        f"{page_path}/datenschutz",
        {"reference": "DS-2026-17", "reason": "Schreiben vom 20.11."},
        page=page_path,
    )
    assert "Verarbeitung eingeschränkt" in page.text and "Löschersuchen DS-2026-17" in page.text
    async with office.eakte.db.read() as s:
        assert await restricted(s, case_id)
        row = (await s.execute(sa.select(vorgaenge).where(vorgaenge.c.case_id == case_id))).mappings().one()
    assert row["applicant"]["person"]["family_name"] == "Mustermann"  # kept
    member = Staff("x", "sb", "SB", "sachbearbeitung", "BAU-T/31")
    with pytest.raises(DecisionRefused, match="eingeschränkt"):
        await EAkte(office.eakte).decide(member, case_id, "granted", "Die Voraussetzungen liegen vor.")
    page = await clerk.post(
        f"{page_path}/nachricht",
        {"subject": "Rückfrage", "text": "Bitte senden Sie uns den Lageplan noch einmal zu.", "deadline": ""},
        page=page_path,
    )
    assert "Die Verarbeitung der personenbezogenen Daten dieses Vorgangs ist eingeschränkt" in page.text
    page = await clerk.post(f"{page_path}/datenschutz", {"reference": "DS-2", "reason": ""}, page=page_path)
    assert "bereits im Stand" in page.text
    # another unit may neither restrict nor export
    other = await clerk_of("KVR-III/12")
    token = await other.token(f"{PREFIX}/")
    refused = await other.http.post(
        f"{page_path}/akteneinsicht", data={"schwaerzungen": "x", "_csrf_token": token}
    )
    assert refused.status_code == 403

    # -- the disposal deletes (called by the Aussonderung) ------------------------------------
    async with office.eakte.db.session() as s:
        await record_erasure(s, case_id, "system", "0506 vom Stadtarchiv: nicht archivwürdig, vernichtet")
    async with office.eakte.db.read() as s:
        assert await state_of(s, case_id) == "geloescht" and not await restricted(s, case_id)
        actions = list(
            (
                await s.execute(
                    sa.select(audit.c.action).where(audit.c.case_id == case_id).order_by(audit.c.seq)
                )
            ).scalars()
        )
    assert [a for a in actions if a.startswith(("datenschutz_", "akteneinsicht_"))] == [
        "akteneinsicht_erstellt",
        "datenschutz_eingeschraenkt",
        "datenschutz_geloescht",
    ]
    assert (await EAkte(office.eakte).verify_records()).ok
