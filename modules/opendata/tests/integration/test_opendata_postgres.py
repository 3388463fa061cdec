"""The same facts and datasets on PostgreSQL: a throwaway cluster from the machine's
PostgreSQL binaries (skipped where there are none), the module's migrations, real events."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from rathaus.contracts.common import BlobRef
from rathaus.contracts.eakte.v1 import CaseOpened
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.opendata.bootstrap import bootstrap
from rathaus.opendata.handlers import OpenData
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.runtime.processes import free_port
from rathaus.platform.testing import eventually


def opened(case_id: str) -> CaseOpened:
    return CaseOpened(
        case_id=case_id,
        aktenzeichen="523.11-2026-000001",
        service_id="bewohnerparkausweis",
        unit="KVR-III/12",
        stadtbezirk="09",
        opened_at="2026-11-03T09:00:00+00:00",
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


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    initdb, pg_ctl, pg_isready = _binary("initdb"), _binary("pg_ctl"), _binary("pg_isready")
    if initdb is None or pg_ctl is None or pg_isready is None:
        pytest.skip("no PostgreSQL binaries on this machine")
    # PostgreSQL refuses to run as root: then the cluster belongs to the postgres user
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = Path(tempfile.mkdtemp(prefix="rathaus-pg-"))
    if as_user:
        shutil.chown(data, "postgres")
    port = free_port()
    subprocess.run(
        [*as_user, initdb, "-D", str(data / "db"), "-U", "rathaus", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    server = [*as_user, pg_ctl, "-D", str(data / "db"), "-l", str(data / "log"), "-w"]
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([*server, "-o", options, "start"], check=True, capture_output=True)
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(
            [pg_isready, "-h", "127.0.0.1", "-p", str(port)], capture_output=True, check=False
        ).returncode:
            assert time.monotonic() < deadline, (data / "log").read_text()
            time.sleep(0.1)  # polling the server's readiness, not waiting for a result
        yield f"postgresql+asyncpg://rathaus@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            subprocess.run([*server, "-m", "fast", "stop"], check=True, capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


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
    cases = [str(uuid.uuid4()) for _ in range(4)]
    async with output.transaction() as uow:  # decisions before the cases, and one twice
        for case_id in [*cases, cases[0]]:
            await uow.emit(delivered(case_id), subject=case_id)
    async with eakte.transaction() as uow:
        for case_id in cases:
            await uow.emit(opened(case_id), subject=case_id)

    async def handled() -> bool:
        return kernel.consumer.handled == 9

    await eventually(handled, timeout=60)
    opendata = OpenData(kernel)
    ds = await opendata.dataset("bewohnerparkausweise-stadtbezirk-monat")
    assert ds is not None
    cell = ("09 Neuhausen-Nymphenburg", "2026-11")
    assert ds.tables["antraege"].values[cell] == 4 and ds.tables["erteilt"].values[cell] == 4
    assert ds.modified > ds.created
