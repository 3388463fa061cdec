"""Webhooks: CloudEvents 1.0 over HTTP (structured mode, ``application/cloudevents+json``)
for integrators who want HTTP instead of NATS, signed with a per-integrator secret.

The deliverer runs inside the platform. It reads the integrator's durable consumers (so
nothing is lost across restarts), stores each event in its delivery table before it acks
it, and posts the events of one case one after the other (different cases in parallel).
A failed delivery is tried again with exponential backoff for ``retry_hours`` (48 by
default), then parked as a dead letter that ``rathaus integrators deadletters`` shows and
``rathaus integrators redeliver`` hands back. Every attempt is in the delivery log.

Delivery is at least once: after a crash between the receiver's answer and the note that
it answered, the event comes again, with the same CloudEvents ``id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import random
import secrets
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.client import JetStreamContext

from rathaus.platform.runtime.integrators import Integrator, Registry, WebhookTarget

log = logging.getLogger("rathaus.webhooks")

SIGNATURE_HEADER = "Rathaus-Signature"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
TOLERANCE_SECONDS = 300  # the replay window the documented check uses


# --- the signature (what the receiver checks: copy verify_webhook, it needs only the stdlib)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Rathaus-Signature`` header: HMAC-SHA256 over ``timestamp + "." + body``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class InvalidWebhook(ValueError):
    """The delivery is not from Rathaus, was changed on the way, or is too old."""


class ReplayedWebhook(InvalidWebhook):
    """A valid delivery of an event already accepted: answer 2xx and do not apply it again
    (Rathaus delivers at least once, so this also happens without an attacker)."""


def verify_webhook(
    secret: str,
    signature: str,
    body: bytes,
    *,
    seen: set[str] | None = None,
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """Check a delivery and return its CloudEvent; raise ``InvalidWebhook`` if it is forged,
    tampered with or older than ``tolerance`` seconds (a replay of a recorded delivery), and
    ``ReplayedWebhook`` if its event ``id`` is in ``seen`` (the ids already accepted; the
    check adds each new one). ``body`` is the raw request body, before any JSON parsing."""
    fields: dict[str, list[str]] = {}
    for part in signature.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        raise InvalidWebhook("signature header without a timestamp") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidWebhook("timestamp outside the tolerance: a replayed or delayed delivery")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, given) for given in fields.get("v1", [])):
        raise InvalidWebhook("signature does not match the body")
    event: dict[str, Any] = json.loads(body)
    if seen is not None:
        if event["id"] in seen:
            raise ReplayedWebhook(f"event {event['id']} was accepted before")
        seen.add(event["id"])
    return event


# --- the delivery table


SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    integrator TEXT NOT NULL,
    event_id TEXT NOT NULL,
    case_key TEXT NOT NULL,          -- the CloudEvents subject (case id); '' for events of no case
    type TEXT NOT NULL,
    event_time REAL,                 -- the CloudEvents time (for a replay)
    stream TEXT NOT NULL,
    stream_seq INTEGER NOT NULL,
    body BLOB,
    status TEXT NOT NULL,            -- pending | delivered | parked
    attempts INTEGER NOT NULL DEFAULT 0,
    received_at REAL NOT NULL,
    first_attempt_at REAL,
    next_attempt_at REAL NOT NULL,
    finished_at REAL,
    last_error TEXT,
    replaced INTEGER NOT NULL DEFAULT 0,  -- 0 while current; its own id once a replay sends it again
    UNIQUE (integrator, event_id, replaced)
);
CREATE INDEX IF NOT EXISTS deliveries_lane ON deliveries (integrator, status, case_key, id);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL,
    integrator TEXT NOT NULL,
    at REAL NOT NULL,
    number INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_by_integrator ON attempts (integrator, id);
"""


@dataclass
class Delivery:
    id: int
    event_id: str
    case_key: str
    type: str
    status: str
    attempts: int
    received_at: float
    first_attempt_at: float | None
    next_attempt_at: float
    finished_at: float | None
    last_error: str | None
    body: bytes | None = None


@dataclass
class Attempt:
    at: float
    number: int
    event_id: str
    case_key: str
    type: str
    status_code: int | None
    error: str | None
    duration_ms: float


@dataclass
class Incoming:
    event_id: str
    case_key: str
    type: str
    stream: str
    stream_seq: int
    body: bytes
    event_time: float | None = None
    problem: str | None = None  # not a CloudEvent: parked at once


_COLUMNS = (
    "id, event_id, case_key, type, status, attempts, received_at, first_attempt_at, "
    "next_attempt_at, finished_at, last_error"
)


class DeliveryStore:
    """The deliverer's SQLite file (``<data_dir>/integrators/webhooks.sqlite``); the CLI
    reads and changes it while the platform runs (WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=10, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    @classmethod
    def of(cls, data_dir: Path) -> DeliveryStore:
        return cls(data_dir / "integrators" / "webhooks.sqlite")

    def close(self) -> None:
        self.db.close()

    def add(self, integrator: str, items: Iterable[Incoming], now: float) -> int:
        """Store new events (an event already stored is ignored); returns how many were new."""
        before = self.db.total_changes
        with self.db:
            self.db.execute("BEGIN")
            for item in items:
                parked = item.problem is not None
                self.db.execute(
                    "INSERT OR IGNORE INTO deliveries (integrator, event_id, case_key, type, event_time, "
                    "stream, stream_seq, body, status, received_at, next_attempt_at, finished_at, "
                    "last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        integrator,
                        item.event_id,
                        item.case_key,
                        item.type,
                        item.event_time,
                        item.stream,
                        item.stream_seq,
                        item.body,
                        "parked" if parked else "pending",
                        now,
                        now,
                        now if parked else None,
                        item.problem,
                    ),
                )
        return self.db.total_changes - before

    def heads(self, integrator: str) -> list[tuple[int, str, float]]:
        """The oldest pending delivery of each case: (id, case, when it is due)."""
        rows = self.db.execute(
            "SELECT id, case_key, next_attempt_at FROM deliveries d WHERE integrator = ? "
            "AND status = 'pending' AND id = (SELECT MIN(id) FROM deliveries e WHERE "
            "e.integrator = d.integrator AND e.status = 'pending' AND e.case_key = d.case_key) "
            "ORDER BY id",
            (integrator,),
        ).fetchall()
        return [(int(r[0]), str(r[1]), float(r[2])) for r in rows]

    def load(self, delivery_id: int) -> Delivery:
        row = self.db.execute(
            f"SELECT {_COLUMNS}, body FROM deliveries WHERE id = ?",
            (delivery_id,),
        ).fetchone()
        return Delivery(*row)

    def record(
        self,
        delivery: Delivery,
        target: WebhookTarget,
        *,
        started: float,
        now: float,
        status_code: int | None,
        error: str | None,
    ) -> str:
        """Note an attempt; the delivery is then delivered, due again later, or parked."""
        number = delivery.attempts + 1
        first = delivery.first_attempt_at or started
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "INSERT INTO attempts (delivery_id, integrator, at, number, status_code, error, duration_ms) "
                "SELECT id, integrator, ?, ?, ?, ?, ? FROM deliveries WHERE id = ?",
                (started, number, status_code, error, (now - started) * 1000, delivery.id),
            )
            if error is None:
                status, next_at = "delivered", now
            else:
                deadline = first + target.retry_hours * 3600
                if now >= deadline:
                    status, next_at = "parked", now
                else:
                    pause = min(target.backoff_first_seconds * 2 ** (number - 1), target.backoff_max_seconds)
                    # jitter, so that cases failing together do not come back together;
                    # the last attempt falls on the deadline: retried at least retry_hours
                    next_at = min(now + pause * random.uniform(0.8, 1.2), deadline)
                    status = "pending"
            self.db.execute(
                "UPDATE deliveries SET status = ?, attempts = ?, first_attempt_at = ?, "
                "next_attempt_at = ?, finished_at = ?, last_error = ? WHERE id = ?",
                (
                    status,
                    number,
                    first,
                    next_at,
                    now if status != "pending" else None,
                    error,
                    delivery.id,
                ),
            )
        return status

    def listing(self, integrator: str, status: str, limit: int = 1000) -> list[Delivery]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM deliveries WHERE integrator = ? AND status = ? "
            "AND replaced = 0 ORDER BY id LIMIT ?",
            (integrator, status, limit),
        ).fetchall()
        return [Delivery(*r) for r in rows]

    def counts(self, integrator: str) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT status, COUNT(*) FROM deliveries WHERE integrator = ? AND replaced = 0 GROUP BY status",
            (integrator,),
        ).fetchall()
        return {"pending": 0, "delivered": 0, "parked": 0, **{str(s): int(n) for s, n in rows}}

    def attempts(self, integrator: str, limit: int = 50) -> list[Attempt]:
        rows = self.db.execute(
            "SELECT a.at, a.number, d.event_id, d.case_key, d.type, a.status_code, a.error, a.duration_ms "
            "FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE a.integrator = ? "
            "ORDER BY a.id DESC LIMIT ?",
            (integrator, limit),
        ).fetchall()
        return [Attempt(*r) for r in rows]

    def redeliver(self, integrator: str, ids: list[int] | None, now: float) -> int:
        """Parked deliveries (all, or those ids) become due again with a fresh retry period."""
        query = (
            "UPDATE deliveries SET status = 'pending', attempts = 0, first_attempt_at = NULL, "
            "next_attempt_at = ?, finished_at = NULL WHERE integrator = ? AND status = 'parked' "
            "AND replaced = 0 AND body IS NOT NULL AND type != ''"
        )
        with self.db:
            if ids is None:
                cursor = self.db.execute(query, (now, integrator))
            else:
                marks = ",".join("?" * len(ids))
                cursor = self.db.execute(f"{query} AND id IN ({marks})", (now, integrator, *ids))
        return cursor.rowcount

    def replay(self, integrator: str, since: float) -> int:
        """Before its consumers are repositioned: the events from ``since`` that were delivered
        or parked may be stored (and sent) again; their records stay in the log."""
        with self.db:
            cursor = self.db.execute(
                "UPDATE deliveries SET replaced = id WHERE integrator = ? AND replaced = 0 "
                "AND status != 'pending' AND (event_time >= ? OR event_time IS NULL AND received_at >= ?)",
                (integrator, since, since),
            )
        return cursor.rowcount

    def forget(self, integrator: str) -> None:
        with self.db:
            self.db.execute("DELETE FROM attempts WHERE integrator = ?", (integrator,))
            self.db.execute("DELETE FROM deliveries WHERE integrator = ?", (integrator,))

    def prune(self, now: float, *, log_days: float = 30, body_days: float = 7) -> None:
        """Old attempts go; the body of a delivered event is kept a week, then only its record."""
        with self.db:
            self.db.execute("DELETE FROM attempts WHERE at < ?", (now - log_days * 86400,))
            self.db.execute(
                "UPDATE deliveries SET body = NULL WHERE status = 'delivered' AND finished_at < ?",
                (now - body_days * 86400,),
            )


# --- the deliverer


class _Head(msgspec.Struct):
    id: str
    type: str
    time: str | None = None
    subject: str | None = None
    dataclassification: str | None = None


def incoming(stream: str, msg: Any) -> Incoming | None:
    """What the deliverer stores of one JetStream message; None for one it must never send."""
    seq = int(msg.metadata.sequence.stream)
    try:
        head = msgspec.json.decode(msg.data, type=_Head)
    except msgspec.DecodeError:
        msg_id = (msg.headers or {}).get("Nats-Msg-Id") or f"{stream}:{seq}"
        return Incoming(msg_id, "", "", stream, seq, msg.data, problem="kein gültiges CloudEvent")
    if head.dataclassification == "personal":  # the consumer's filter excludes these already
        return None
    try:
        moment = datetime.fromisoformat(head.time).timestamp() if head.time else None
    except ValueError:
        moment = None
    return Incoming(head.id, head.subject or "", head.type, stream, seq, msg.data, moment)


class WebhookDeliverer:
    """Delivers one webhook integrator's events; started and stopped by IntegratorService."""

    def __init__(
        self, js: JetStreamContext, store: DeliveryStore, integrator: Integrator, streams: list[str]
    ) -> None:
        assert integrator.webhook is not None
        self.js = js
        self.store = store
        self.integrator = integrator
        self.target: WebhookTarget = integrator.webhook
        self.streams = streams
        self.wake = asyncio.Event()
        self.in_flight: dict[str, asyncio.Task[None]] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.http = httpx.AsyncClient(timeout=self.target.timeout_seconds, follow_redirects=False)

    def start(self) -> None:
        name = self.integrator.name
        for stream in self.streams:
            self.tasks.append(asyncio.create_task(self._fetch(stream), name=f"webhook-{name}-{stream}"))
        self.tasks.append(asyncio.create_task(self._dispatch(), name=f"webhook-{name}"))

    async def stop(self) -> None:
        for task in [*self.tasks, *self.in_flight.values()]:
            task.cancel()
        for task in [*self.tasks, *self.in_flight.values()]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.http.aclose()

    async def _fetch(self, stream: str) -> None:
        """Move the consumer's messages into the delivery table; ack once stored."""
        sub = None
        while True:
            try:
                if sub is None:
                    sub = await self.js.pull_subscribe_bind(durable=self.integrator.durable, stream=stream)
                msgs = await sub.fetch(batch=100, timeout=1.0)
            except (NatsTimeoutError, TimeoutError):
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS away or the consumer being recreated: try again
                log.warning("webhook %s: reading %s failed: %s", self.integrator.name, stream, exc)
                sub = None
                await asyncio.sleep(1.0)  # a back-off before reconnecting, not a wait for a result
                continue
            items = [item for item in (incoming(stream, m) for m in msgs) if item is not None]
            self.store.add(self.integrator.name, items, time.time())
            for msg in msgs:
                await msg.ack()
            self.wake.set()

    async def _dispatch(self) -> None:
        while True:
            self.wake.clear()
            now = time.time()
            next_due = now + 1.0  # at least once a second: `redeliver` from the CLI is seen
            free = self.target.parallel - len(self.in_flight)
            for delivery_id, case, due in self.store.heads(self.integrator.name):
                if case in self.in_flight:
                    continue
                if due > now:
                    next_due = min(next_due, due)
                    continue
                if free <= 0:
                    continue
                free -= 1
                task = asyncio.create_task(self._deliver(delivery_id))
                self.in_flight[case] = task
                task.add_done_callback(functools.partial(self._done, case))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), max(0.0, next_due - time.time()))

    def _done(self, case: str, _: object) -> None:
        self.in_flight.pop(case, None)
        self.wake.set()

    async def _deliver(self, delivery_id: int) -> None:
        delivery = self.store.load(delivery_id)
        body = delivery.body or b""
        started = time.time()
        status_code: int | None = None
        error: str | None = None
        try:
            response = await self.http.post(
                self.target.url,
                content=body,
                headers={
                    "Content-Type": CONTENT_TYPE,
                    SIGNATURE_HEADER: sign(self.target.secret, int(started), body),
                    "User-Agent": "Rathaus-Webhooks/1",
                },
            )
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        outcome = self.store.record(
            delivery, self.target, started=started, now=time.time(), status_code=status_code, error=error
        )
        if outcome == "parked":
            log.warning(
                "webhook %s: event %s parked after %d attempts (%s)",
                self.integrator.name,
                delivery.event_id,
                delivery.attempts + 1,
                error,
            )


# --- the integrator's own view: GET /integratoren/<name>/zustellungen with its secret


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
