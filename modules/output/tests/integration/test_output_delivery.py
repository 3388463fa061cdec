"""Output management on the real bus with a real SMTP server."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email import message_from_bytes
from typing import Any

import msgspec
import nats
import pypdfium2
import pytest
from aiosmtpd.controller import Controller
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from rathaus.contracts.common import Address, BlobRef, Person
from rathaus.contracts.eakte.v1 import DecisionMade, Recipient
from rathaus.contracts.platform.v1 import DeliverDecision
from rathaus.output.bootstrap import bootstrap
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.runtime.processes import free_port
from rathaus.platform.testing import eventually


class Collect:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def decision(case_id: str) -> DecisionMade:
    return DecisionMade(
        case_id=case_id,
        aktenzeichen="523.11-2026-000042",
        service_id="bewohnerparkausweis",
        outcome="granted",
        reasons="Die Voraussetzungen liegen vor.",
        unit="KVR-III/12",
        decided_by="s1",
        decided_at=datetime.now(UTC).isoformat(),
        recipient=Recipient(
            person=Person(given_name="Erika", family_name="Mustermann", birth_date="1964-08-12"),
            address=Address(street="Zenettistraße", house_number="12", postal_code="80337"),
            email="erika@example.org",
        ),
        facts={
            "kennzeichen": "M-EM 1964",
            "parkzone": "Schlachthofviertel",
            "stadtbezirk": "02",
            "gueltig_ab": "2026-11-22",
            "gueltig_bis": "2028-11-21",
            "gebuehr": "30,00 EUR",
        },
    )


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[tuple[Kernel, Kernel, Collect]]:
    smtp = Collect()
    port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    settings.smtp.host, settings.smtp.port = "127.0.0.1", port
    output = Kernel("output", settings)
    app = bootstrap(output)
    await output.start(app)
    other = Kernel("eakte", settings)
    await other.start(ModuleApp())
    yield output, other, smtp
    await other.stop(ModuleApp())
    await output.stop(app)
    controller.stop()


async def test_both_orders_and_duplicates_deliver_once(
    world: tuple[Kernel, Kernel, Collect], settings: Settings
) -> None:
    output, other, smtp = world
    nc = await nats.connect(settings.nats.url)
    delivered: list[dict[str, Any]] = []

    async def collect(msg: nats.aio.msg.Msg) -> None:
        delivered.append(msgspec.json.decode(msg.data))

    await nc.subscribe("rathaus.output.decision.delivered.v1", cb=collect)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    command = DeliverDecision(case_id=first, channel="postkorb", template="bewohnerparkausweis_erteilt.html")
    async with other.transaction() as uow:  # command first, decision second; and both twice
        await uow.emit(command, subject=first)
        await uow.emit(command, subject=first)
    async with other.transaction() as uow:
        await uow.emit(decision(first), subject=first)
        await uow.emit(decision(second), subject=second)
        await uow.emit(decision(first), subject=first)
    async with other.transaction() as uow:
        await uow.emit(DeliverDecision(case_id=second, channel="postkorb", template=""), subject=second)

    async def both_delivered() -> bool:
        return {e["subject"] for e in delivered} == {first, second} and len(smtp.messages) == 2

    await eventually(both_delivered, timeout=60)
    assert len(delivered) == 2
    data = delivered[0]["data"]
    assert "Mustermann" not in str(data) and data["bekanntgabe"] >= data["sent_at"][:10]
    mail = smtp.messages[0]
    assert mail["To"] == "erika@example.org" and mail["Subject"] == "Neues Dokument in Ihrem Postkorb"
    assert "523.11-2026-000042" in mail.get_payload() and "Schlachthofviertel" not in mail.get_payload()
    pdf = await output.blobs.get(msgspec.convert(data["document"], BlobRef))
    text = pypdfium2.PdfDocument(io.BytesIO(pdf))[0].get_textpage().get_text_range()
    assert "523.11-2026-000042" in text
    reader = PdfFileReader(io.BytesIO(pdf))
    xmp = reader.root["/Metadata"].get_object().data.decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    cert = output.settings.data_dir / "output" / "siegel" / "siegel.cert.pem"
    from pyhanko.keys import load_cert_from_pemder

    status = await async_validate_pdf_signature(
        reader.embedded_signatures[0], ValidationContext(trust_roots=[load_cert_from_pemder(str(cert))])
    )
    assert status.intact and status.valid and status.trusted
    await nc.close()
