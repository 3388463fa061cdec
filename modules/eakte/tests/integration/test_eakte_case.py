"""The E-Akte on the real bus: a version-1 application (still in the streams from before
services as data) opens a case, documents are filed in any order, a clerk decides."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from rathaus.contracts.common import Address, Person
from rathaus.contracts.eakte.rpc_v1 import AUTHENTICATE_STAFF, StaffCredentials
from rathaus.contracts.input.v1 import DocumentRouted
from rathaus.contracts.portal.v1 import Applicant, ApplicationSubmitted, Attachment
from rathaus.eakte import PREFIX
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.store import vorgaenge
from rathaus.platform.kernel.procedures.pins import pins

NOW = "2026-11-23T10:15:00+00:00"
ERIKA = Person(given_name="Erika", family_name="Mustermann", birth_date="1964-08-12")
ZENETTI = Address(street="Zenettistraße", house_number="12", postal_code="80337")


async def test_a_v1_application_opens_a_case_documents_follow_and_a_clerk_decides(
    office: Any, clerk_of: Callable[..., Any]
) -> None:
    case_id = str(uuid.uuid4())
    blob = await office.input.blobs.put(
        "input", b"%PDF-1.7 scan", media_type="application/pdf", filename="fs.pdf"
    )
    # the document overtakes the application
    await office.emit(
        office.input,
        DocumentRouted(
            document_id="doc-1",
            case_id=case_id,
            unit="KVR-III/12",
            document_type="fahrzeugschein",
            title="Fahrzeugschein",
            medium="online",
            source="portal",
            blob=blob,
            text="Zulassungsbescheinigung Teil I",
            received_at=NOW,
        ),
        case_id,
    )
    await office.emit(
        office.portal,
        ApplicationSubmitted(
            case_id=case_id,
            service_id="bewohnerparkausweis",
            account_id="a1",
            applicant=Applicant(person=ERIKA, address=ZENETTI, email="erika@example.org"),
            form={
                "given_name": "Erika",
                "family_name": "Mustermann",
                "birth_date": "1964-08-12",
                "kennzeichen": "M-EM 1964",
                "halter": "ja",
                "parkzone": "Schlachthofviertel",
                "stadtbezirk": "02 Ludwigsvorstadt-Isarvorstadt",
            },
            attachments=[Attachment(kind="fahrzeugschein", blob=blob)],
            submitted_at=NOW,
        ),
        case_id,
    )
    opened = await office.wait_for("case.opened.v1", case_id)
    await office.wait_for("document.filed.v1", case_id)
    assert re.fullmatch(r"523\.11-\d{4}-\d{6}", opened["aktenzeichen"])
    assert opened["unit"] == "KVR-III/12" and opened["service_version"] == 1
    assert opened["submitted_at"] == NOW and opened["stadtbezirk"] == "02 Ludwigsvorstadt-Isarvorstadt"
    definition = office.eakte.procedures.get("bewohnerparkausweis", 1)
    async with office.eakte.db.read() as s:
        row = (await s.execute(sa.select(vorgaenge).where(vorgaenge.c.case_id == case_id))).mappings().one()
        pinned = (
            await s.execute(sa.select(pins.c.digest).where(pins.c.service_id == "bewohnerparkausweis"))
        ).scalar()
    assert row["procedure_digest"] == definition.digest == pinned
    assert row["applicant"]["account_id"] == "a1" and row["data"]["birth_date"] == "1964-08-12"
    assert row["akte_titel"] == "Bewohnerparkausweis beantragen – Mustermann, Erika"

    clerk = await clerk_of("KVR-III/12")
    assert opened["aktenzeichen"] in (await clerk.http.get(f"{PREFIX}/")).text
    page = (await clerk.http.get(f"{PREFIX}/vorgaenge/{case_id}")).text
    assert "Zulassungsbescheinigung Teil I" in page and "Erika" in page
    assert "Verfahren: Bewohnerparkausweis beantragen, Version 1, gültig ab 01.01.2026" in page
    assert definition.digest in page
    # the data by the form's groups, a code list's name instead of its code, dates in German
    assert "Angaben zum Fahrzeug" in page and "M-EM 1964" in page
    assert "Ich bin Halterin oder Halter des Fahrzeugs</dd>" in page.replace("\n", "")
    assert "12.08.1964" in page
    assert "fs.pdf" in page  # the file field names the uploaded file
    # the proposed reasons come from the procedure
    assert "§ 45 Abs. 1b Nr. 2a StVO liegen vor" in page
    original = await clerk.http.get(f"{PREFIX}/vorgaenge/{case_id}/dokumente/1/original")
    assert original.content == b"%PDF-1.7 scan"
    path = f"{PREFIX}/vorgaenge/{case_id}/entscheidung"
    r = await clerk.post(
        path, {"outcome": "refused", "reasons": "zu kurz"}, page=f"{PREFIX}/vorgaenge/{case_id}"
    )
    assert "Eine Ablehnung braucht eine Begründung" in r.text
    await clerk.post(path, {"outcome": "granted", "reasons": ""}, page=f"{PREFIX}/vorgaenge/{case_id}")

    made = await office.wait_for("decision.made.v2", case_id)
    assert not office.of("decision.made.v1")  # only version 2 is emitted
    assert made["outcome"] == "granted" and made["mode"] == "clerk"
    assert made["data"]["kennzeichen"] == "M-EM 1964"
    assert made["service_version"] == 1 and made["procedure_digest"] == definition.digest
    assert made["recipient"]["person"]["family_name"] == "Mustermann"
    assert made["recipient"]["account_id"] == "a1" and made["submitted_at"] == NOW
    assert made["facts"]["gebuehr"] == "30,00 EUR" and made["facts"]["gebuehr_cent"] == "3000"
    assert made["facts"]["gueltig_ab"] < made["facts"]["gueltig_bis"]
    assert "kennzeichen" not in made["facts"]  # no service-specific facts any more
    assert made["reasons"].startswith("Die Voraussetzungen nach § 45 Abs. 1b Nr. 2a StVO")

    # another unit's clerk may neither see nor decide it
    other = await clerk_of("KVR-II/11")
    assert (await other.http.get(f"{PREFIX}/vorgaenge/{case_id}")).status_code == 403
    assert opened["aktenzeichen"] not in (await other.http.get(f"{PREFIX}/")).text
    # the request/reply login for other modules, and the audit chain
    user, password = office.login_of("KVR-III/12")
    ok = await office.portal.ask(AUTHENTICATE_STAFF, StaffCredentials(username=user, password=password))
    bad = await office.portal.ask(AUTHENTICATE_STAFF, StaffCredentials(username=user, password="nein"))
    assert ok.ok and ok.unit == "KVR-III/12" and not bad.ok
    assert await EAkte(office.eakte).verify_audit()
