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

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import time
from datetime import datetime
from typing import Any

import httpx
import msgspec
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.client import JetStreamContext

from rathaus.platform.runtime.integrators import Integrator, WebhookTarget
from rathaus.platform.runtime.webhook_store import DeliveryStore, Incoming

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
        self.running = True
        self.http = httpx.AsyncClient(timeout=self.target.timeout_seconds, follow_redirects=False)

    def start(self) -> None:
        name = self.integrator.name
        for stream in self.streams:
            self.tasks.append(asyncio.create_task(self._fetch(stream), name=f"webhook-{name}-{stream}"))
        self.tasks.append(asyncio.create_task(self._dispatch(), name=f"webhook-{name}"))

    async def stop(self) -> None:
        """Stop reading and delivering. The loops end on ``running`` as well as on the
        cancellation: on Python 3.11 ``asyncio.wait_for`` (inside nats-py's fetch, and the
        dispatcher's wait) can swallow a cancellation that meets its inner future finishing,
        and a loop that only waited to be cancelled then ran on and held the stop for good
        (a CI run's webhook test hung until pytest's 300 s). A task still running is
        cancelled again until it ends."""
        self.running = False
        self.wake.set()
        tasks = [*self.tasks, *self.in_flight.values()]
        pending = set(tasks)
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=2.0)
        for task in tasks:  # retrieved, so that asyncio does not report them as never seen
            if not task.cancelled() and task.exception() is not None:
                log.warning(
                    "webhook %s: %s ended with %r", self.integrator.name, task.get_name(), task.exception()
                )
        await self.http.aclose()

    async def _fetch(self, stream: str) -> None:
        """Move the consumer's messages into the delivery table; ack once stored."""
        sub = None
        while self.running:
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
        while self.running:
            self.wake.clear()
            heads = await asyncio.to_thread(self.store.heads, self.integrator.name)
            if not self.running:  # stopped meanwhile: start no delivery the stop would not see
                return
            now = time.time()
            next_due = now + 1.0  # at least once a second: `redeliver` from the CLI is seen
            free = self.target.parallel - len(self.in_flight)
            for delivery_id, case, due in heads:
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
        if delivery.status != "pending":  # the heads were read just before it was delivered
            return
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
