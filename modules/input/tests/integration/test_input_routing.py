"""Input management on the real bus: online attachments and scanned letters are read and
routed into their cases; letters wait for cases not yet opened; bad files are refused."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest
import sqlalchemy as sa

from rathaus.contracts.common import Address, BlobRef, Person
from rathaus.contracts.eakte.v1 import CaseOpened
from rathaus.contracts.portal.v1 import Applicant, ApplicationSubmitted, Attachment
from rathaus.input.bootstrap import bootstrap
from rathaus.input.domain import document_id
from rathaus.input.store import documents
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.testing import eventually

ROUTED = "rathaus.input.document.routed.v1"


@dataclass
class World:
    settings: Settings
    input: Kernel
    app: ModuleApp
    portal: Kernel
    eakte: Kernel
    nc: Any
    routed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def inbox(self) -> Path:
        return self.settings.data_dir / "input" / "eingangsordner"

    def drop(self, name: str, data: bytes) -> Path:
        """As a scanner does: write under a temporary name, then rename into place."""
        partial = self.inbox / f".{name}.part"
        partial.write_bytes(data)
        return partial.rename(self.inbox / name)

    async def open_case(self, case_id: str, aktenzeichen: str, unit: str = "KVR-III/12") -> None:
        async with self.eakte.transaction() as uow:
            await uow.emit(
                CaseOpened(
                    case_id=case_id,
                    aktenzeichen=aktenzeichen,
                    service_id="bewohnerparkausweis",
                    unit=unit,
                    opened_at=datetime.now(UTC).isoformat(),
                ),
                subject=case_id,
            )

    async def statuses(self) -> dict[str, str]:
        async with self.input.db.session() as s:
            rows = await s.execute(sa.select(documents.c.document_id, documents.c.status))
            return {r.document_id: r.status for r in rows}

    async def settled(self, handled: int) -> bool:
        """Input has applied ``handled`` events, read every document and published everything."""
        stats = await self.input.outbox_storage.stats()
        return (
            self.input.consumer.handled >= handled
            and "neu" not in (await self.statuses()).values()
            and stats.pending == 0
        )

    async def routed_in_stream(self) -> int:
        info = await self.nc.jetstream().stream_info("RATHAUS_INPUT", subjects_filter=ROUTED)
        return int((info.state.subjects or {}).get(ROUTED, 0))


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    kernel = Kernel("input", settings)
    app = bootstrap(kernel)
    await kernel.start(app)
    portal, eakte = Kernel("portal", settings), Kernel("eakte", settings)
    await portal.start(ModuleApp())
    await eakte.start(ModuleApp())
    nc = await nats.connect(settings.nats.url)
    w = World(settings, kernel, app, portal, eakte, nc)

    async def collect(msg: Any) -> None:
        w.routed.append(msgspec.json.decode(msg.data))

    await nc.subscribe(ROUTED, cb=collect)
    yield w
    await nc.close()
    await eakte.stop(ModuleApp())
    await portal.stop(ModuleApp())
    await kernel.stop(app)


def application(case_id: str, attachment: BlobRef) -> ApplicationSubmitted:
    return ApplicationSubmitted(
        case_id=case_id,
        service_id="bewohnerparkausweis",
        account_id="acc-1",
        applicant=Applicant(
            person=Person(given_name="Erika", family_name="Mustermann", birth_date="1964-08-12"),
            address=Address(street="Zenettistraße", house_number="12", postal_code="80337"),
            email="erika@example.org",
        ),
        form={"kennzeichen": "M-EM 1964", "halter": "ja"},
        attachments=[Attachment(kind="fahrzeugschein", blob=attachment)],
        submitted_at="2026-11-23T10:15:00+00:00",
    )


async def test_an_online_scan_is_read_and_routed_once(world: World, fahrzeugschein_scan: bytes) -> None:
    case_id = str(uuid.uuid4())
    ref = await world.portal.blobs.put(
        "portal", fahrzeugschein_scan, media_type="application/pdf", filename="fahrzeugschein.pdf"
    )
    event = application(case_id, ref)
    async with world.portal.transaction() as uow:
        await uow.emit(event, subject=case_id)

    async def routed() -> bool:
        return len(world.routed) == 1

    await eventually(routed, timeout=60)
    envelope = world.routed[0]
    data = envelope["data"]
    assert envelope["subject"] == case_id and envelope["dataclassification"] == "personal"
    assert data["document_id"] == document_id(case_id, ref.sha256)
    assert data["case_id"] == case_id and data["unit"] == "KVR-III/12"
    assert data["document_type"] == "fahrzeugschein" and "Zulassungsbescheinigung" in data["title"]
    assert "Zulassungsbescheinigung" in data["text"] and 0.5 < data["ocr_confidence"] <= 1
    assert (data["medium"], data["source"]) == ("online", "portal")
    assert data["received_at"] == event.submitted_at
    assert msgspec.convert(data["blob"], BlobRef) == ref

    # the same application again (a replay, another event id): nothing is routed twice
    async with world.portal.transaction() as uow:
        await uow.emit(event, subject=case_id)
        await uow.emit(event, subject=case_id)

    async def all_applied() -> bool:
        return await world.settled(handled=3)

    await eventually(all_applied, timeout=30)
    assert await world.routed_in_stream() == 1


async def test_a_letter_with_the_aktenzeichen_of_a_running_case_is_filed_there(
    world: World, make_letter: Callable[..., bytes]
) -> None:
    case_id, az = str(uuid.uuid4()), "523.11-2026-000042"
    await world.open_case(case_id, az)

    async def case_known() -> bool:
        return world.input.consumer.handled >= 1

    await eventually(case_known)
    letter = make_letter(["Betreff: Nachreichung", f"Ihr Aktenzeichen: {az}", "Anbei der Nachweis."])
    world.drop("brief-001.pdf", letter)

    async def routed() -> bool:
        return len(world.routed) == 1 and (world.inbox / "verarbeitet" / "brief-001.pdf").exists()

    await eventually(routed, timeout=60)
    data = world.routed[0]["data"]
    assert data["case_id"] == case_id and data["unit"] == "KVR-III/12"
    assert (data["medium"], data["source"], data["document_type"]) == (
        "papier",
        "eingangsordner",
        "schreiben",
    )
    assert data["title"] == "Nachreichung" and az in data["text"]
    assert data["blob"]["sha256"] == hashlib.sha256(letter).hexdigest()
    assert data["blob"]["key"].startswith("input/")
    assert await world.input.blobs.get(msgspec.convert(data["blob"], BlobRef)) == letter
    assert not (world.inbox / "brief-001.pdf").exists()
    assert await world.app.health["eingangsordner"]()


async def test_a_letter_waits_for_its_case_and_the_same_bytes_twice_are_one_letter(
    world: World, make_letter: Callable[..., bytes]
) -> None:
    case_id, az = str(uuid.uuid4()), "523.11-2026-000777"
    letter = make_letter(["Widerspruch", f"Aktenzeichen {az}", "Hiermit lege ich Widerspruch ein."])
    world.drop("scan-a.pdf", letter)

    async def waiting() -> bool:
        return list((await world.statuses()).values()) == ["wartend"]

    await eventually(waiting, timeout=60)
    world.drop("scan-a-nochmal.pdf", letter)

    async def both_moved() -> bool:
        done = world.inbox / "verarbeitet"
        return (done / "scan-a.pdf").exists() and (done / "scan-a-nochmal.pdf").exists()

    await eventually(both_moved, timeout=30)
    assert len(await world.statuses()) == 1 and world.routed == []

    await world.open_case(case_id, az, unit="KVR-III/12")

    async def routed() -> bool:
        return len(world.routed) == 1

    await eventually(routed, timeout=30)
    data = world.routed[0]["data"]
    assert data["case_id"] == case_id and data["document_type"] == "widerspruch"
    assert data["document_id"] == document_id("papier", hashlib.sha256(letter).hexdigest())

    # CaseOpened once more (a replay, another event id): the letter is not routed again
    await world.open_case(case_id, az, unit="KVR-III/12")

    async def all_applied() -> bool:
        return await world.settled(handled=2)

    await eventually(all_applied)
    assert await world.routed_in_stream() == 1
