"""`rathaus up` with integrators: `rathaus integrators add` against the running platform
(its nats-server reloads, its deliverer follows the registry), a NATS integrator and a
webhook receiving the same event, and the integrator's delivery view through the gateway."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats as nats_py
import pytest

from rathaus.platform.kernel.bus import stream_name
from rathaus.platform.runtime.processes import free_port
from rathaus.platform.testing import EmbeddedPlatform, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPlatform]:
    platform = EmbeddedPlatform(tmp_path_factory.mktemp("stadt") / "rathaus")
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()


def integrators(city: EmbeddedPlatform, *args: str) -> str:
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "rathaus"),
            "integrators",
            *args,
            "--data-dir",
            str(city.data_dir),
        ],
        capture_output=True,
        text=True,
        env=city.env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def value(output: str, label: str) -> str:
    line = next(x for x in output.splitlines() if x.strip().startswith(label))
    return line.split()[len(label.split())]


async def test_integrators_on_a_running_platform(city: EmbeddedPlatform, webhook_receiver: Any) -> None:
    out = integrators(city, "add", "stadtwerke", "--subjects", "rathaus.platform.case.>")
    assert "NATS-Server: Konfiguration neu geladen." in out  # the running server took the user
    password = value(out, "Passwort")
    port = free_port()
    out = integrators(
        city,
        "add",
        "leitstelle",
        "--subjects",
        "rathaus.platform.case.>",
        "--webhook",
        f"http://127.0.0.1:{port}/e",
    )
    secret = value(out, "Signaturschlüssel")
    receiver = webhook_receiver(port, secret)
    receiver.start()

    # an event as the orchestration publishes it, and a personal one beside it
    platform_nc = await nats_py.connect(**city.nats_credentials("rathaus"))
    case_id = str(uuid.uuid4())
    status = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/rathaus/platform",
        "type": "de.rathaus.platform.case.status-changed.v1",
        "time": "2026-11-30T06:00:00.000Z",
        "datacontenttype": "application/json",
        "subject": case_id,
        "dataclassification": "internal",
        "data": {
            "case_id": case_id,
            "service_id": "test",
            "status": "eingegangen",
            "at": "2026-11-30T06:00:00Z",
        },
    }
    js = platform_nc.jetstream()
    await js.publish(
        "rathaus.platform.case.status-changed.v1",
        json.dumps(status).encode(),
        stream=stream_name("platform"),
        headers={"Nats-Msg-Id": status["id"]},
    )
    await platform_nc.close()

    nc = await nats_py.connect(
        city.nats_url, user="stadtwerke", password=password, inbox_prefix="_INBOX_stadtwerke"
    )
    sub = await nc.jetstream().pull_subscribe_bind(durable="integrator-stadtwerke", stream="RATHAUS_PLATFORM")
    got = [json.loads(m.data) for m in await sub.fetch(10, timeout=10)]
    await nc.close()
    assert [e["id"] for e in got if e["subject"] == case_id] == [status["id"]]

    async def delivered() -> bool:
        return any(e["id"] == status["id"] for e in receiver.events)

    await eventually(delivered, timeout=60)
    assert receiver.refused == 0
    async with httpx.AsyncClient(base_url=city.base_url) as http:
        url = "/integratoren/leitstelle/zustellungen"
        assert (await http.get(url)).status_code == 401
        view = (await http.get(url, headers={"Authorization": f"Bearer {secret}"})).json()
        assert view["zustellungen"]["delivered"] >= 1
        assert any(a["id"] == status["id"] and a["status"] == 204 for a in view["protokoll"])
        health = (await http.get("/health")).json()["components"]["integratoren"]
        assert health["ok"] and "leitstelle" in health["webhooks"]
    assert os.stat(city.data_dir / "integrators" / "integrators.json").st_mode & 0o777 == 0o600
