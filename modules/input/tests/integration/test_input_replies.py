"""Replies from the Postkorb on the real bus: the attachments are read (OCR) and classified,
the whole reply is routed to its case once, as one ReplyRouted, however often it arrives."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import nats
import pytest
import sqlalchemy as sa

from rathaus.contracts.eakte.v1 import CaseOpened
from rathaus.contracts.portal.v1 import ReplyAttachment, ReplySubmitted
from rathaus.input.bootstrap import bootstrap
from rathaus.input.store import documents, replies
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.testing import eventually

ROUTED = "rathaus.input.reply.routed.v1"


def now() -> str:
    return datetime.now(UTC).isoformat()


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[dict[str, Any]]:
    kernel = Kernel("input", settings)
    app = bootstrap(kernel)
    await kernel.start(app)
    portal, eakte = Kernel("portal", settings), Kernel("eakte", settings)
    await portal.start(ModuleApp())
    await eakte.start(ModuleApp())
    nc = await nats.connect(settings.nats.url)
    routed: list[dict[str, Any]] = []

    async def collect(msg: Any) -> None:
        routed.append(msgspec.json.decode(msg.data))

    await nc.subscribe(ROUTED, cb=collect)
    yield {"input": kernel, "portal": portal, "eakte": eakte, "routed": routed}
    await nc.close()
    await eakte.stop(ModuleApp())
    await portal.stop(ModuleApp())
    await kernel.stop(app)


async def emit(kernel: Kernel, event: Any, case_id: str) -> None:
    async with kernel.transaction() as uow:
        await uow.emit(event, subject=case_id)


async def test_a_reply_is_read_and_routed_once_with_all_its_documents(
    world: dict[str, Any], fahrzeugschein_scan: bytes, make_text_pdf: Callable[[list[str]], bytes]
) -> None:
    case_id = str(uuid.uuid4())
    portal, routed = world["portal"], world["routed"]
    await emit(
        world["eakte"],
        CaseOpened(
            case_id=case_id,
            aktenzeichen="523.11-2026-000123",
            service_id="bewohnerparkausweis",
            unit="KVR-III/12",
            opened_at=now(),
        ),
        case_id,
    )
    scan = await portal.blobs.put(
        "portal", fahrzeugschein_scan, media_type="application/pdf", filename="fs.pdf"
    )
    lease = await portal.blobs.put(
        "portal",
        make_text_pdf(
            ["Mietvertrag", "zwischen Hausverwaltung Isar und Erika Mustermann", "Zenettistrasse 12"]
        ),
        media_type="application/pdf",
        filename="mv.pdf",
    )
    reply_id = str(uuid.uuid4())
    reply = ReplySubmitted(
        case_id=case_id,
        reply_id=reply_id,
        in_reply_to="msg-1",
        account_id="acc-1",
        text="Anbei Fahrzeugschein und Mietvertrag.",
        attachments=[
            ReplyAttachment(document_type="fahrzeugschein", title="Fahrzeugschein", blob=scan),
            ReplyAttachment(document_type="nachreichung", title="Weitere Unterlage", blob=lease),
            ReplyAttachment(document_type="nachreichung", title="Weitere Unterlage", blob=lease),  # twice
        ],
        submitted_at=now(),
    )
    await emit(portal, reply, case_id)

    async def one() -> bool:
        return len(routed) == 1

    await eventually(one, timeout=90)
    envelope = routed[0]
    data = envelope["data"]
    assert envelope["subject"] == case_id and envelope["dataclassification"] == "personal"
    assert data["reply_id"] == reply_id and data["in_reply_to"] == "msg-1" and data["unit"] == "KVR-III/12"
    assert data["text"] == "Anbei Fahrzeugschein und Mietvertrag."
    docs = {d["blob"]["sha256"]: d for d in data["documents"]}
    assert set(docs) == {scan.sha256, lease.sha256}  # the same bytes twice: one document
    assert docs[scan.sha256]["document_type"] == "fahrzeugschein"
    assert docs[scan.sha256]["title"] == "Nachgereicht: Fahrzeugschein"
    assert "Zulassungsbescheinigung" in docs[scan.sha256]["text"]  # read by OCR
    assert "Mietvertrag" in docs[lease.sha256]["text"]

    # the same reply again (a redelivery, a replay): nothing new
    handled = world["input"].consumer.handled
    await emit(portal, reply, case_id)

    async def applied() -> bool:
        return world["input"].consumer.handled > handled

    await eventually(applied)
    async with world["input"].db.read() as s:
        status = (await s.execute(sa.select(replies.c.status).where(replies.c.reply_id == reply_id))).scalar()
        states = set(
            (await s.execute(sa.select(documents.c.status).where(documents.c.reply_id == reply_id))).scalars()
        )
    assert status == "zugeordnet" and states == {"zugeordnet"}

    # a reply with text only goes on at once
    text_only = ReplySubmitted(
        case_id=case_id,
        reply_id=str(uuid.uuid4()),
        account_id="acc-1",
        text="Die Unterlagen folgen per Post.",
        submitted_at=now(),
    )
    await emit(portal, text_only, case_id)

    async def two() -> bool:
        return len(routed) == 2

    await eventually(two, timeout=30)
    assert (
        routed[1]["data"]["documents"] == []
        and routed[1]["data"]["text"] == "Die Unterlagen folgen per Post."
    )
    assert len(routed) == 2
