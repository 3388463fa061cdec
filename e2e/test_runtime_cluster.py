"""`rathaus up --nats-cluster 3 --replicas 2` as an operator tries it: three nats-server
nodes, two processes of every module, R3 streams and consumers, a case on its way, an
integrator added on every node, and Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import pytest

from rathaus.platform.kernel.settings import COMPONENTS
from rathaus.platform.runtime.embedded import EmbeddedPlatform
from rathaus.platform.testing import running

pytestmark = pytest.mark.e2e
EXAMPLE = (
    Path(__file__).parents[1]
    / "contracts/src/rathaus/contracts/procedures/leistungen/hundesteuer/beispiel-v1.json"
)


@pytest.fixture
def clustered(tmp_path: Path) -> Iterator[EmbeddedPlatform]:
    yield from running(EmbeddedPlatform(tmp_path / "rathaus", nats_cluster=3, replicas=2))


def submit_case(platform: EmbeddedPlatform) -> str:
    """The demo citizen's Hundesteuer over the JSON API (one dog, no file); its status."""
    accounts = (platform.data_dir / "demo-zugaenge.txt").read_text(encoding="utf-8").splitlines()
    _, email, password, *_ = next(line.split("\t") for line in accounts if line.startswith("buergerin"))
    antrag = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    antrag["angaben"]["hunde"] = antrag["angaben"]["hunde"][:1]
    antrag.pop("nachweise", None)
    with httpx.Client(base_url=platform.base_url, timeout=30) as http:
        form = http.get("/konto/anmelden").text
        token = re.search(r'name="_csrf_token" value="([^"]+)"', form)
        assert token is not None
        http.post("/konto/anmelden", data={"email": email, "password": password, "_csrf_token": token[1]})
        answer = http.post("/api/antraege", json=antrag)
        assert answer.status_code == 201, answer.text
        deadline = time.monotonic() + 120
        while (status := http.get(answer.json()["status_url"]).json()["status"]) == "eingegangen":
            assert time.monotonic() < deadline, "the case did not leave 'eingegangen'"
            time.sleep(0.3)  # polling the case's status
        return str(status)


async def test_up_with_a_three_node_cluster_and_two_replicas(clustered: EmbeddedPlatform) -> None:
    health = (await asyncio.to_thread(httpx.get, f"{clustered.base_url}/health", timeout=30)).json()
    assert health["ok"], health
    for module in COMPONENTS:  # both replicas of every module, each healthy
        assert health["components"][module]["ok"] and health["components"][f"{module} #1"]["ok"], module
    assert await asyncio.to_thread(submit_case, clustered) in ("in_pruefung", "zur_entscheidung")

    added = await asyncio.to_thread(
        subprocess.run,
        [
            str(Path(sys.executable).parent / "rathaus"),
            "integrators",
            "add",
            "stadtwerke",
            "--subjects",
            "rathaus.platform.case.>",
            "--data-dir",
            str(clustered.data_dir),
        ],
        capture_output=True,
        text=True,
        env=clustered.env(),
        timeout=120,
        check=False,
    )
    assert "NATS-Server: Konfiguration neu geladen." in added.stdout, added.stdout + added.stderr
    password = re.search(r"Passwort\s*:?\s*(\S+)", added.stdout)
    assert password is not None

    nc = await nats.connect(**clustered.nats_credentials())
    try:
        js = nc.jetstream()
        for stream in ("RATHAUS_PORTAL", "RATHAUS_EAKTE", "RATHAUS_PLATFORM", "RATHAUS_DEADLETTER"):
            info = await js.stream_info(stream)
            # still three after `rathaus integrators` declared the streams too
            assert info.config.num_replicas == 3, stream
            assert info.cluster is not None and len(info.cluster.replicas or []) == 2
        for consumer in await js.consumers_info("RATHAUS_PORTAL"):
            assert consumer.config.num_replicas == 3, consumer.name
    finally:
        await nc.close()
    for server in clustered.nats_servers:  # the integrator's user on every node
        own = await nats.connect(
            server,
            user="stadtwerke",
            password=password[1],
            inbox_prefix="_INBOX_stadtwerke",
            allow_reconnect=False,
            connect_timeout=5,
        )
        info = await own.jetstream().consumer_info("RATHAUS_PLATFORM", "integrator-stadtwerke")
        assert info.config.num_replicas == 3
        await own.close()
    assert clustered.stop() == 0
    logs = sorted(p.name for p in (clustered.data_dir / "logs").glob("nats-server-*.log"))
    assert logs == ["nats-server-1.log", "nats-server-2.log", "nats-server-3.log"]
