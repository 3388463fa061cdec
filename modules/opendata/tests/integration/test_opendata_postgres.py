"""The same facts and datasets on PostgreSQL: a throwaway cluster from the machine's
PostgreSQL binaries (``postgres_url`` in conftest.py, skipped where there are none), the
module's migrations, real events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from rathaus.contracts.common import BlobRef
from rathaus.contracts.eakte.v1 import CaseOpened
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.opendata import store
from rathaus.opendata.bootstrap import bootstrap
from rathaus.opendata.handlers import OpenData
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.testing import eventually


def opened(case_id: str) -> CaseOpened:
    return CaseOpened(
        case_id=case_id,
        aktenzeichen="523.11-2026-000001",
        service_id="bewohnerparkausweis",
        unit="KVR-III/12",
        stadtbezirk="09",
        opened_at="2026-11-03T09:00:00+00:00",
        service_version=1,
        submitted_at="2026-11-03T08:30:00+00:00",
    )


def delivered(case_id: str) -> DecisionDelivered:
    return DecisionDelivered(
        case_id=case_id,
        aktenzeichen="523.11-2026-000001",
        service_id="bewohnerparkausweis",
        outcome="granted",
        document=BlobRef(sha256="0" * 64, key="output/x.pdf", size=1, media_type="application/pdf"),
        channel="postkorb",
        sent_at="2026-11-20T10:00:00+00:00",
        bekanntgabe="2026-11-23",
    )


@pytest.fixture
async def on_postgres(settings: Settings, postgres_url: str) -> AsyncIterator[tuple[Kernel, Kernel, Kernel]]:
    settings.databases["opendata"] = postgres_url
    kernel = Kernel("opendata", settings)
    app = bootstrap(kernel)
    await kernel.start(app)
    eakte, output = Kernel("eakte", settings), Kernel("output", settings)
    await eakte.start(ModuleApp())
    await output.start(ModuleApp())
    yield kernel, eakte, output
    await output.stop(ModuleApp())
    await eakte.stop(ModuleApp())
    await kernel.stop(app)


async def test_facts_and_dataset_on_postgres(on_postgres: tuple[Kernel, Kernel, Kernel]) -> None:
    kernel, eakte, output = on_postgres
    assert kernel.db.url.get_backend_name() == "postgresql"
    cases = [str(uuid.uuid4()) for _ in range(5)]
    async with output.transaction() as uow:  # decisions before the cases, and one twice
        for case_id in [*cases, cases[0]]:
            await uow.emit(delivered(case_id), subject=case_id)
    async with eakte.transaction() as uow:
        for case_id in cases:
            await uow.emit(opened(case_id), subject=case_id)

    async def handled() -> bool:
        return kernel.consumer.handled == 11

    await eventually(handled, timeout=60)
    opendata = OpenData(kernel)
    ds = await opendata.dataset("bewohnerparkausweise-stadtbezirk-monat")
    assert ds is not None
    cell = ("09 Neuhausen-Nymphenburg", "2026-11")
    assert ds.tables["antraege"].values[cell] == 5 and ds.tables["bewilligt"].values[cell] == 5
    assert ds.tables["abgelehnt"].values[cell] == 0
    # 08:30 on the 3rd to 10:00 on the 20th: 409.5 hours, kept as 409 -> 17.0 days
    assert ds.times[0].bescheide == 5 and ds.times[0].p50 == ds.times[0].p90 == 17.0
    async with kernel.db.session() as s:
        facts = (await s.execute(store.faelle.select())).mappings().all()
    assert {(f["dauer_stunden"], f["beginn"], f["ende"]) for f in facts} == {(409, None, None)}
    assert ds.modified > ds.created
