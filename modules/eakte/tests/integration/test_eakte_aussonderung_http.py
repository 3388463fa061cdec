"""Aussonderung with an archive reached over HTTP instead of a transfer directory (PUT to its
``/eingang/``, GET and DELETE from its ``/ausgang/``): the Test-Archiv on its own port as the
configured archive (``archive.url``), the same exchange and checks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from modules.eakte.tests.integration.aussonderung_helpers import case, closed_case, validate_all
from rathaus.contracts.platform.v1 import AussonderungDue
from rathaus.eakte.store_aussonderung import aussonderungen
from rathaus.platform.kernel import Settings
from rathaus.platform.kernel.settings import ArchiveSettings
from rathaus.platform.runtime.archivpeer import PeerConfig, TestArchive
from rathaus.platform.runtime.processes import free_port
from rathaus.platform.testing import eventually

PORT = free_port()


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[TestArchive]:
    folder = tmp_path / "archiv-http"
    config = PeerConfig(
        code="stadtarchiv", name="Stadtarchiv (HTTP)", inbox=folder / "eingang", outbox=folder / "ausgang"
    )
    peer = TestArchive(folder, PORT, config, poll_seconds=0.1)
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()
        peer.peer.close()


@pytest.fixture
def office_settings(settings: Settings, procedure_dir: Path, archive: TestArchive) -> Settings:
    chosen = settings.model_copy(update={"procedure_dirs": [procedure_dir]})
    chosen.archive = ArchiveSettings(url=archive.base_url, poll_seconds=0.1)
    return chosen


async def test_the_exchange_runs_over_http_too(office: Any, archive: TestArchive, tmp_path: Path) -> None:
    taken = await closed_case(office, "test-mitzeichnung", "A")
    declined = await closed_case(office, "test-mitzeichnung", "V")
    today = datetime.now(UTC).date().isoformat()
    async with office.workflow.transaction() as uow:
        await uow.emit(AussonderungDue(day=today, trigger="test"), subject="aussonderung")

    async def closed() -> bool:
        async with office.eakte.db.read() as s:
            return (await s.execute(sa.select(aussonderungen.c.state))).scalars().all() == ["abgeschlossen"]

    await eventually(closed, timeout=60)
    assert [o["aktenzeichen"] for o in archive.peer.state()["uebernommen"]] == [taken["aktenzeichen"]]
    assert (await case(office, taken["case_id"]))["lifecycle"] == "ausgesondert"
    assert (await case(office, declined["case_id"]))["lifecycle"] == "vernichtet"
    assert not (office.settings.data_dir / "archiv").exists()  # no transfer directory used
    sent = validate_all(tmp_path / "archiv-http" / "eingang")
    received = validate_all(office.settings.data_dir / "aussonderung" / "eingang")
    assert sent == {"0501": 1, "0503": 1, "0505": 1} and received == {
        "0502": 1,
        "0504": 1,
        "0506": 1,
        "0507": 1,
    }
