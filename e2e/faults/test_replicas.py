"""Two replicas of every component (``rathaus serve <component>`` twice, ``RATHAUS_REPLICA``
0 and 1) on one PostgreSQL, the clients choosing either as a load balancer would.

First, both replicas up: a citizen logs in with the CSRF token of a page another replica
served, submits an application with a scanned Nachweis to one replica and reads it on the
other; cases go through while a plain NATS subscriber counts every publish, so a second
publish of an event by the other replica's outbox relay would show (the stream's dedup
window would hide it). Then, with cases in flight, one replica of each component is
SIGKILLed and stays down: the other replicas finish every case, each exactly once."""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from e2e.city import example
from e2e.faults.checks import ModuleDatabases, every_case_ended_once, reported
from e2e.faults.cluster import STAFF_PASSWORD, STAFF_USER, Distributed
from e2e.faults.load import Citizens, Decider, EitherReplica, StatusWatch
from rathaus.platform.kernel.settings import COMPONENTS
from rathaus.platform.runtime.payprovider.controls import AutoPayer
from rathaus.platform.testing import PostgresCluster, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(900)]
CALM, IN_FLIGHT, AFTER = 4, 6, 4  # cases: both replicas up; struck mid-way; submitted after
TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')
SERVICE = "bewohnerparkausweis"


class Publishes:
    """Every event published on ``rathaus.>`` as core NATS sees it, before any stream's
    duplicate window: event id -> how often it was published."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.nc: Any = None

    async def start(self, url: str) -> None:
        self.nc = await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)

        async def seen(msg: Any) -> None:
            event_id = (msg.headers or {}).get("Nats-Msg-Id")
            if event_id:
                self.count[event_id] += 1

        await self.nc.subscribe("rathaus.>", cb=seen)

    def twice(self) -> dict[str, int]:
        return {k: v for k, v in self.count.items() if v > 1}

    async def close(self) -> None:
        if self.nc is not None:
            await self.nc.close()


async def relays(dbs: ModuleDatabases) -> dict[str, int]:
    """Replica ("#0", "#1") -> events its outbox relays published, over every component."""
    sent: Counter[str] = Counter()
    for component in COMPONENTS:
        for by, count in await dbs.rows(
            component,
            "select leased_by, count(*) from rathaus_outbox where status = 'sent' group by leased_by",
        ):
            sent["#" + str(by).rpartition("#")[2]] += count
    return dict(sent)


async def citizen_across_replicas(cluster: Distributed, citizens: Citizens) -> tuple[str, list[str]]:
    """Log in and apply with a file, every request to the portal replica after the last one:
    the session cookie, the CSRF token and the upload must hold whichever replica answers."""
    assert citizens.account is not None
    balancer = EitherReplica(cluster.urls("portal"))
    lines = []
    async with httpx.AsyncClient(base_url=cluster.urls("portal")[0], transport=balancer, timeout=60) as http:
        page = await http.get("/konto/anmelden")
        token = TOKEN.search(page.text)
        assert token, page.text[:300]
        login = await http.post(
            "/konto/anmelden",
            data={
                "email": citizens.account.email,
                "password": "fault-suite-buergerin-1",
                "_csrf_token": token.group(1),
            },
        )
        assert login.status_code == 303, f"login with another replica's CSRF token: {login.status_code}"
        lines.append("login form from one portal replica, posted to the other: accepted (303)")
        definition = citizens.kernel.procedures.current(SERVICE)
        assert definition is not None
        case_id = str(uuid.uuid4())
        submitted = await http.post("/api/antraege", json={**example(definition), "vorgangsnummer": case_id})
        assert submitted.status_code == 201, submitted.text
        shown = await http.get(f"/api/antraege/{case_id}")
        assert shown.status_code == 200 and shown.json()["case_id"] == case_id, shown.text
        lines.append(
            "application with a scanned Nachweis submitted to one replica, shown by the other "
            "(the session cookie holds on both)"
        )
    assert set(balancer.answered_by) == set(cluster.urls("portal")), balancer.answered_by
    await balancer.aclose()
    return case_id, lines


async def test_two_replicas_of_every_component_one_of_each_killed_each_case_ends_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_cluster: PostgresCluster
) -> None:
    cluster = Distributed(tmp_path, replicas=2)
    # replicas share their module's database: PostgreSQL, as `rathaus up --replicas` asks
    # for, in every pass (the PostgreSQL pass leaves this file to the fault pass)
    cluster.postgres = f"{postgres_cluster.server_url}/r{uuid.uuid4().hex[:8]}"
    citizens = Citizens(cluster.settings())
    workspace = EitherReplica(cluster.urls("eakte"))
    decider = Decider(cluster.eakte_url, STAFF_USER, STAFF_PASSWORD, transport=workspace)
    watch, publishes = StatusWatch(), Publishes()
    nats_options = {"servers": cluster.nats_url}
    payer = AutoPayer(nats_options)
    summary: list[str] = []
    dbs = ModuleDatabases(cluster.data_dir, cluster.postgres)
    try:
        with reported(capsys, "two replicas of every component", summary, cluster.logs):
            t0 = time.monotonic()
            await cluster.start()
            summary.append(
                f"{sum(len(r) for r in cluster.replicas.values())} processes started in {time.monotonic() - t0:.0f}s"
            )
            await publishes.start(cluster.nats_url)
            await payer.start()
            await citizens.open()
            await watch.start(servers=cluster.nats_url)
            decider.start()

            # both replicas up
            web_case, lines = await citizen_across_replicas(cluster, citizens)
            summary += lines
            calm = await citizens.submit(CALM)
            await eventually(
                watch.reached([*calm, web_case], "zugestellt", CALM + 1), timeout=300, interval=0.2
            )
            assert not publishes.twice(), f"events published twice with both replicas up: {publishes.twice()}"
            summary.append(
                f"both replicas up: {len(publishes.count)} events published, each once "
                "(a plain NATS subscriber counted every publish, before the streams' dedup)"
            )
            summary.append(f"events published by each replica's outbox relay: {await relays(dbs)}")

            # one replica of each component SIGKILLed while cases are in flight; it stays down
            struck = await citizens.submit(IN_FLIGHT)
            await eventually(watch.reached(struck, "in_pruefung"), timeout=120, interval=0.05)
            in_flight = IN_FLIGHT - watch.count(struck, "zugestellt")
            for component in COMPONENTS:
                cluster.replicas[component][0].kill()
            summary.append(
                f"SIGKILL of replica 0 of each of {len(COMPONENTS)} components with {in_flight} cases in flight"
            )
            await citizens.submit(AFTER)
            cases = citizens.case_ids
            summary += await every_case_ended_once(
                watch,
                cases,
                dbs=dbs,
                nats_options=nats_options,
                temporal_address=f"127.0.0.1:{cluster.temporal_port}",
                others=1,  # the case submitted across the portal's replicas
            )
            filed = Counter(
                t
                for (t,) in await dbs.rows(
                    "eakte", "select document_type from documents where case_id = ?", (web_case,)
                )
            )
            assert filed["bescheid"] == 1 and sum(filed.values()) >= 3, f"the web case's documents: {filed}"
            summary.append(f"the case submitted across replicas: delivered; documents filed {dict(filed)}")
            again = publishes.twice()
            summary.append(
                f"publishes seen twice after the kill (a relay's lease ran out on a killed replica; "
                f"each kept once by the stream, checked above): {len(again)}"
            )
            summary.append(f"workspace requests per eakte replica: {dict(workspace.answered_by)}")
            summary.append(f"events published by each replica's outbox relay, in all: {await relays(dbs)}")
    finally:
        try:
            await payer.stop()
            await decider.close()
            await workspace.aclose()
            await watch.close()
            await citizens.close()
            await publishes.close()
        finally:
            cluster.stop()  # whatever failed above: no process outlives the test
