"""PostgreSQL crashes under load: every component in its own ``rathaus serve`` process, each
module's database on one PostgreSQL server, which is stopped in ``immediate`` mode (every
connection cut, as in a crash) while cases are on their way, stays down for longer than a
poison message's retries last, and comes back (recovery from its WAL). The processes keep
running; afterwards every case has reached its end state exactly once and no good event
was dead-lettered for the outage."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from e2e.faults.checks import ModuleDatabases, check_dead_letters, every_case_ended_once, reported
from e2e.faults.cluster import STAFF_PASSWORD, STAFF_USER, Distributed
from e2e.faults.load import Citizens, Decider, StatusWatch
from rathaus.platform.runtime.payprovider.controls import AutoPayer
from rathaus.platform.testing import PostgresCluster, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(900)]
BEFORE, AFTER = 4, 3
# how long PostgreSQL stays down: a fault's length, well beyond the consumers' retry budget
# (max_deliver 3 with back-offs of 0.4, 0.8 and 1.6 s), so an event that met the outage and
# were counted as failing would be parked
OUTAGE = 20.0


async def test_postgres_crash_and_restart_under_load_each_case_ends_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        # crash-safe commits: the test cluster's default (synchronous_commit off) may lose the
        # last acknowledged commits in an immediate stop — an outbox row, and with it an
        # event, once lost a case's status "eingegangen" in CI; production never runs so
        server = PostgresCluster(crash_safe=True)
    except FileNotFoundError as missing:
        pytest.skip(str(missing))
    server.start()
    cluster = Distributed(tmp_path)
    cluster.postgres = f"{server.server_url}/crash"  # databases crash_portal, crash_eakte, …
    citizens = Citizens(cluster.settings())
    decider = Decider(cluster.eakte_url, STAFF_USER, STAFF_PASSWORD)
    watch = StatusWatch()
    nats_options = {"servers": cluster.nats_url}
    payer = AutoPayer(nats_options)
    dbs = ModuleDatabases(cluster.data_dir, cluster.postgres)
    summary: list[str] = []
    try:
        with reported(capsys, "PostgreSQL crash under load", summary, cluster.logs):
            await cluster.start()
            await payer.start()
            await citizens.open()
            await watch.start(servers=cluster.nats_url)
            decider.start()
            first = await citizens.submit(BEFORE)
            await eventually(watch.reached(first, "in_pruefung"), timeout=120, interval=0.05)
            in_flight = BEFORE - watch.count(first, "zugestellt")

            server.stop_server("immediate")
            t0 = time.monotonic()

            async def noticed() -> bool:
                async with httpx.AsyncClient(timeout=10) as http:
                    health = (await http.get(f"{cluster.eakte_url}/health")).json()
                return not health["components"]["eakte"]["ok"]

            await eventually(noticed, timeout=60, interval=0.2)
            await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - t0)))  # the fault's length
            server.start_server()
            summary.append(
                f"PostgreSQL stopped in immediate mode with {in_flight} cases in flight, "
                f"down {time.monotonic() - t0:.0f}s (the E-Akte's /health said so), restarted"
            )
            await citizens.submit(AFTER)
            summary += await every_case_ended_once(
                watch,
                citizens.case_ids,
                dbs=dbs,
                nats_options=nats_options,
                temporal_address=f"127.0.0.1:{cluster.temporal_port}",
            )
            summary += await check_dead_letters(nats_options, [])
            waited = sum(
                p.log_text().count("the database is away while handling") for p in cluster.every_process()
            )
            summary.append(f"deliveries that met the outage and were retried, not parked: {waited}")
    finally:
        try:
            await payer.stop()
            await decider.close()
            await watch.close()
            await citizens.close()
        finally:
            cluster.stop()  # whatever failed above: no process outlives the test
            server.stop()
