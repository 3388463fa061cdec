"""The broker with its seeded registers, and a portal kernel to ask it over the real bus;
a throwaway PostgreSQL cluster for the migration test (skipped where there is none)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from rathaus.broker.bootstrap import bootstrap
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.runtime.processes import free_port


@pytest.fixture
async def started(settings: Settings) -> AsyncIterator[tuple[Kernel, ModuleApp, Kernel]]:
    """The broker (its kernel and app) and a portal kernel to ask it."""
    broker = Kernel("broker", settings)
    app = bootstrap(broker)
    await broker.start(app, seed=True)
    portal = Kernel("portal", settings)
    await portal.start(ModuleApp())
    yield broker, app, portal
    await portal.stop(ModuleApp())
    await broker.stop(app)


@pytest.fixture
def kernels(started: tuple[Kernel, ModuleApp, Kernel]) -> tuple[Kernel, Kernel]:
    return started[0], started[2]


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    # the same throwaway cluster as opendata's test: a candidate for rathaus.platform.testing
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
