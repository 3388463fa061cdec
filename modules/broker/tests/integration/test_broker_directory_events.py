"""The street directory goes out as events: once per edition, in parts, a changed directory
as a new edition (what the portal keeps its copy from)."""

from __future__ import annotations

import msgspec
import nats
import pytest
import sqlalchemy as sa

from rathaus.broker import directory
from rathaus.broker.directory import publish_street_directory
from rathaus.broker.store import strassen
from rathaus.contracts import decode_event
from rathaus.contracts.addresses import house_key, street_key
from rathaus.contracts.broker.v2 import StreetDirectoryPublished
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.bus import stream_name
from rathaus.platform.testing import eventually

SUBJECT = StreetDirectoryPublished.__contract__.subject


async def _published(settings: Settings) -> list[StreetDirectoryPublished]:
    nc = await nats.connect(settings.nats.url)
    try:
        sub = await nc.jetstream().subscribe(SUBJECT, stream=stream_name("broker"), ordered_consumer=True)
        out: list[StreetDirectoryPublished] = []
        while True:
            try:
                msg = await sub.next_msg(timeout=0.5)
            except nats.errors.TimeoutError:
                return out
            payload = decode_event(msg.data).payload()
            assert isinstance(payload, StreetDirectoryPublished)
            out.append(payload)
    finally:
        await nc.close()


async def test_the_directory_is_published_once_per_edition_in_parts(
    started: tuple[Kernel, ModuleApp, Kernel], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker, _, _ = started

    async def first_edition_out() -> bool:
        return len(await _published(settings)) >= 1

    await eventually(first_edition_out)
    (first,) = await _published(settings)
    async with broker.db.read() as s:
        rows = (await s.execute(sa.select(sa.func.count()).select_from(strassen))).scalar_one()
    assert first.part == first.parts == 1 and len(first.entries) == rows
    zenetti = [e for e in first.entries if e.street_key == street_key("Zenettistr.")]
    assert zenetti and all(e.postal_code == "80337" for e in zenetti)
    assert all(e.house_number == house_key(e.house_number) for e in first.entries)
    assert msgspec.json.encode(first).count(b"Erika") == 0  # public data: addresses, no residents

    # the same directory again (a restart): nothing new
    assert await publish_street_directory(broker) is None

    # the yearly update changes a zone: a new edition, here in parts of 100
    monkeypatch.setattr(directory, "PART_SIZE", 100)
    async with broker.db.session() as s:
        await s.execute(
            strassen.update()
            .where(strassen.c.street_key == street_key("Zenettistraße"))
            .values(parkzone="Neu")
        )
    edition = await publish_street_directory(broker)
    assert edition is not None and edition != first.edition
    expected_parts = -(-rows // 100)

    async def second_edition_out() -> bool:
        return len(await _published(settings)) == 1 + expected_parts

    await eventually(second_edition_out)
    parts = [p for p in await _published(settings) if p.edition == edition]
    assert sorted(p.part for p in parts) == list(range(1, expected_parts + 1))
    assert {p.parts for p in parts} == {expected_parts}
    assert sum(len(p.entries) for p in parts) == rows
    assert all(p.published_at > first.published_at for p in parts)
