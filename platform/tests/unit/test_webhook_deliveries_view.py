"""A webhook integrator sees its own delivery log and parked deliveries over HTTP, with its
signing secret; nobody else does (the gateway serves it at /integratoren/<name>/zustellungen)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from rathaus.platform.runtime.integrators import Registry, WebhookTarget, new_integrator
from rathaus.platform.runtime.webhook_store import DeliveryStore, Incoming
from rathaus.platform.runtime.webhook_view import delivery_app


def _setup(data_dir: Path) -> tuple[str, str]:
    registry = Registry.load(data_dir)
    target = WebhookTarget(url="http://127.0.0.1:9/x", secret="whsec_eins", retry_hours=0.0)
    new_integrator(registry, "eins", ["rathaus.output.>"], webhook=target)
    other = WebhookTarget(url="http://127.0.0.1:9/y", secret="whsec_zwei")
    new_integrator(registry, "zwei", ["rathaus.output.>"], webhook=other)
    registry.save()
    store = DeliveryStore.of(data_dir)
    now = time.time()
    body = b'{"id":"e-1","type":"de.rathaus.output.decision.delivered.v1","subject":"fall-1"}'
    store.add(
        "eins", [Incoming("e-1", "fall-1", "de.rathaus.output.decision.delivered.v1", "S", 1, body)], now
    )
    ((delivery_id, _, _),) = store.heads("eins")
    # retry_hours 0: the first failed attempt parks it
    outcome = store.record(
        store.load(delivery_id), target, started=now, now=now + 0.01, status_code=503, error="HTTP 503"
    )
    assert outcome == "parked"
    store.close()
    return "whsec_eins", "whsec_zwei"


async def test_the_integrator_sees_its_parked_deliveries_and_log_with_its_secret(tmp_path: Path) -> None:
    mine, theirs = _setup(tmp_path)
    transport = httpx.ASGITransport(app=delivery_app(tmp_path))
    async with httpx.AsyncClient(transport=transport, base_url="http://rathaus") as http:
        url = "/integratoren/eins/zustellungen"
        assert (await http.get(url)).status_code == 401
        assert (await http.get(url, headers={"Authorization": f"Bearer {theirs}"})).status_code == 401
        unknown = await http.get(
            "/integratoren/niemand/zustellungen", headers={"Authorization": f"Bearer {mine}"}
        )
        assert unknown.status_code == 401  # the same answer as a wrong secret
        response = await http.get(url, headers={"Authorization": f"Bearer {mine}"})
        assert response.status_code == 200
        view = response.json()
        assert view["zustellungen"] == {"pending": 0, "delivered": 0, "parked": 1}
        assert [(p["id"], p["subject"], p["fehler"]) for p in view["geparkt"]] == [
            ("e-1", "fall-1", "HTTP 503")
        ]
        assert [(a["versuch"], a["status"]) for a in view["protokoll"]] == [(1, 503)]
        assert response.headers["cache-control"] == "no-store"
        assert (await http.post(url, headers={"Authorization": f"Bearer {mine}"})).status_code == 404
