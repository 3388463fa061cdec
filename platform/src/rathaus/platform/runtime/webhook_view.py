"""A webhook integrator's own view of its deliveries, served by the gateway of ``rathaus
up``: ``GET /integratoren/<name>/zustellungen`` with ``Authorization: Bearer <its signing
secret>`` answers the counts, the parked deliveries and the attempt log as JSON."""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rathaus.platform.runtime.integrators import Registry
from rathaus.platform.runtime.webhook_store import DeliveryStore


def delivery_app(data_dir: Path) -> Any:
    """An ASGI app for the gateway: a webhook integrator's delivery log and parked deliveries
    as JSON, for the integrator itself (``Authorization: Bearer <its signing secret>``)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        parts = scope.get("path", "").strip("/").split("/")
        if scope.get("method") != "GET" or len(parts) != 3 or parts[2] != "zustellungen":
            await _answer(send, 404, {"fehler": "Nicht gefunden."})
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        given = headers.get("authorization", "").removeprefix("Bearer ").strip()
        integrator = Registry.load(data_dir).integrators.get(parts[1])
        secret = integrator.webhook.secret if integrator and integrator.webhook else secrets.token_hex(32)
        # the same answer for an unknown name and a wrong secret: names are not enumerable
        if integrator is None or not given or not hmac.compare_digest(given.encode(), secret.encode()):
            await _answer(send, 401, {"fehler": "Anmeldung mit dem Signaturschlüssel nötig."}, bearer=True)
            return
        store = DeliveryStore.of(data_dir)
        try:
            body = {
                "integrator": integrator.name,
                "zustellungen": store.counts(integrator.name),
                "geparkt": [
                    {
                        "nummer": d.id,
                        "id": d.event_id,
                        "type": d.type,
                        "subject": d.case_key or None,
                        "versuche": d.attempts,
                        "fehler": d.last_error,
                        "geparkt_um": _iso(d.finished_at),
                    }
                    for d in store.listing(integrator.name, "parked")
                ],
                "protokoll": [
                    {
                        "um": _iso(a.at),
                        "id": a.event_id,
                        "type": a.type,
                        "subject": a.case_key or None,
                        "versuch": a.number,
                        "status": a.status_code,
                        "fehler": a.error,
                        "dauer_ms": round(a.duration_ms, 1),
                    }
                    for a in store.attempts(integrator.name, 200)
                ],
            }
        finally:
            store.close()
        await _answer(send, 200, body)

    return app


def _iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")


async def _answer(send: Any, status: int, body: dict[str, Any], *, bearer: bool = False) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"cache-control", b"no-store")]
    if bearer:
        headers.append((b"www-authenticate", b'Bearer realm="rathaus-integratoren"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
