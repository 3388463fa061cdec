"""Idempotent consumers with bounded retries, batches and a dead-letter stream.

Each module has one durable pull consumer per producer stream, filtered to the
subjects it handles, plus one on its replay subject. A fetched batch of messages is
applied in one transaction that records all their event ids in one statement, then
acked; when that transaction fails, the batch is applied again one message at a time,
so a poison message is isolated: each message in its own transaction, retried, and
after ``max_deliver`` attempts parked in ``rathaus.deadletter.<module>.<subject>``
alone while the rest are applied once. An envelope that cannot be decoded goes there
at once. A handler that raises ``RetryLater`` (what it needs is away) is retried
without limit, and so is a message whose transaction failed because the database could
not be reached (a PostgreSQL restart or failover): neither is the message's fault, and a
good event must not be parked for an outage. A handler registered with ``batch=False`` is always applied alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import quote

import msgspec
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.client import JetStreamContext
from opentelemetry import trace
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import DBAPIError, IntegrityError

from rathaus.contracts import CloudEvent, Event, decode_event
from rathaus.contracts.envelope import UnknownContractError
from rathaus.platform.kernel.bus import DEADLETTER_PREFIX, DEADLETTER_STREAM, REPLAY_PREFIX, stream_name
from rathaus.platform.kernel.db import OnConflictInsert, one_case_at_a_time
from rathaus.platform.kernel.outbox import processed_table
from rathaus.platform.kernel.telemetry import case_context
from rathaus.platform.kernel.uow import Transactions, UnitOfWork

log = logging.getLogger("rathaus.consumer")
# an event's id recorded once per consumer: compiled once (SQLAlchemy does not cache ON CONFLICT)
RECORD = OnConflictInsert(processed_table)
RECORD_NEW = OnConflictInsert(processed_table, returning=[processed_table.c.event_id])
ERROR_SAFE = (
    " !\"#$&'()*+,-./:;<=>?@[]^_`{|}~"  # printable ASCII stays readable; "%" and the rest are encoded
)
E = TypeVar("E", bound=Event)
Handler = Callable[[Any, UnitOfWork], Awaitable[None]]


class Subscriptions:
    """The events a module consumes and the handler of each."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.handlers: dict[str, tuple[type[Event], Handler]] = {}
        self.alone: set[str] = set()  # event types whose handler is never batched

    def on(
        self, struct: type[E], *, batch: bool = True
    ) -> Callable[[Callable[[E, UnitOfWork], Awaitable[None]]], Any]:
        """Register a handler. ``batch=False``: the handler does something outside the
        transaction that must not be repeated when a batch is applied again one by one
        (a handler that calls out must be idempotent in any case: a transaction can
        fail after the call)."""

        def register(handler: Callable[[E, UnitOfWork], Awaitable[None]]) -> Any:
            meta = struct.__contract__
            if meta.type in self.handlers:
                raise ValueError(f"{self.module} already handles {meta.type}")
            self.handlers[meta.type] = (struct, handler)
            if not batch:
                self.alone.add(meta.type)
            return handler

        return register

    def subjects_by_producer(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for struct, _ in self.handlers.values():
            meta = struct.__contract__
            out.setdefault(meta.producer, []).append(meta.subject)
        return {k: sorted(v) for k, v in out.items()}


# nats-py's fetch returns what is there at once, but once its lingering request got a
# first message it waits for a full batch or the timeout: with 1 s, every hop of a case
# at light load waited up to a second. A short timeout bounds that wait; an idle
# consumer polls a few times a second instead of once.
FETCH_TIMEOUT = 0.2  # seconds
BATCH_SIZE = 32
# a batch's transaction holds the module's writer: past this much time the events applied
# so far are committed and the rest go into a new transaction, so a batch of slow handlers
# does not keep a request waiting for the whole batch
BATCH_BUDGET = 0.05  # seconds


class _AlreadyApplied(Exception):
    """Another delivery of the same event recorded it first."""


class PermanentError(Exception):
    """A message that can never be handled: dead-lettered without retries."""


class RetryLater(Exception):
    """What the handler needs is unavailable (Temporal restarting, a service away): not the
    message's fault, so it is retried for as long as that lasts and never dead-lettered."""


# asyncpg's errors when the server is going down, starting up or gone (by name: asyncpg is
# imported only where PostgreSQL is used)
_SERVER_AWAY = {
    "AdminShutdownError",
    "CrashShutdownError",
    "CannotConnectNowError",
    "ConnectionDoesNotExistError",
    "ConnectionFailureError",
    "ClientCannotConnectError",
    "TooManyConnectionsError",
}


def database_away(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database cannot be reached right now,
    rather than that this message cannot be handled. A refused or reset connection anywhere
    in the chain counts, so a service the handler calls that is down (its HTTP client's
    error carries the ConnectionRefusedError) is waited for too, as with ``RetryLater``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, ConnectionError):  # refused or reset
            return True
        if type(current).__module__.startswith("asyncpg") and type(current).__name__ in _SERVER_AWAY:
            return True
        current = current.__cause__ or current.__context__
    return False


@dataclass
class _Delivery:
    """A fetched message, decoded against its contract."""

    raw: Msg
    envelope: CloudEvent
    payload: Event
    handler: Handler
    deliveries: int


class EventConsumer:
    def __init__(
        self,
        subscriptions: Subscriptions,
        transactions: Transactions,
        *,
        max_deliver: int,
        ack_wait: float,
        tracer: trace.Tracer | None = None,
        batch_size: int = BATCH_SIZE,
        replicas: int = 1,
    ) -> None:
        self.subs = subscriptions
        self.module = subscriptions.module
        self.transactions = transactions
        self.max_deliver = max_deliver
        self.ack_wait = ack_wait
        self.tracer = tracer or trace.get_tracer("rathaus.consumer")
        self.batch_size = batch_size
        self.replicas = replicas  # as many as the stream's: a consumer's state survives a node
        self.handled = 0
        self.dead_lettered = 0
        self.batches = 0  # transactions that applied more than one event
        self._js: JetStreamContext | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._subs: list[JetStreamContext.PullSubscription] = []
        self._running = False

    def plan(self) -> list[tuple[str, str, list[str]]]:
        """The module's durable consumers: (stream, durable name, filter subjects)."""
        plan = [
            (stream_name(producer), self.module, subjects)
            for producer, subjects in self.subs.subjects_by_producer().items()
        ]
        if self.subs.handlers:
            plan.append((DEADLETTER_STREAM, f"{self.module}-replay", [f"{REPLAY_PREFIX}.{self.module}.>"]))
        return plan

    async def start(self, js: JetStreamContext) -> None:
        """Create or update the durable consumers and start pulling from them."""
        self._js = js
        self._running = True
        for stream, durable, subjects in self.plan():
            config = ConsumerConfig(
                name=durable,
                durable_name=durable,
                filter_subjects=subjects,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.ack_wait,
                max_ack_pending=256,
                num_replicas=self.replicas,
            )
            # create, or update one that a former version declared with other subjects
            await js.add_consumer(stream, config=config)
            sub = await js.pull_subscribe_bind(durable=durable, stream=stream)
            self._subs.append(sub)
            self._tasks.append(asyncio.create_task(self._pull(sub), name=f"consume-{self.module}-{stream}"))

    async def stop(self) -> None:
        """Finish the batch at hand, then stop pulling (a fetch ends within its timeout)."""
        self._running = False
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for sub in self._subs:  # the inboxes only: the durable consumers stay
            with contextlib.suppress(Exception):  # a connection already closed
                await sub.unsubscribe()
        self._subs.clear()

    async def _pull(self, sub: JetStreamContext.PullSubscription) -> None:
        while self._running:
            try:
                messages = await sub.fetch(self.batch_size, timeout=FETCH_TIMEOUT)
            except (NatsTimeoutError, TimeoutError):
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the connection is being re-established, the server away
                if not self._running:
                    return
                log.warning("%s: fetching failed, trying again: %s", self.module, exc)
                await asyncio.sleep(0.5)  # a back-off while the connection recovers
                continue
            try:
                await self.handle_batch(messages)
            except asyncio.CancelledError:
                raise
            except Exception:  # an ack or a dead letter that NATS did not take: redelivered later
                log.exception("%s: a fetched batch was not finished; its messages come again", self.module)

    async def handle_batch(self, messages: Sequence[Msg]) -> None:
        """Apply fetched messages: together where they may be, each alone where not."""
        together: list[_Delivery] = []
        for raw in messages:
            delivery = await self._decode(raw)
            if delivery is None:
                continue
            # a message delivered again failed before: alone it fails without the others
            if delivery.deliveries > 1 or delivery.envelope.type in self.subs.alone:
                await self._apply_together(together)
                together = []
                await self.handle_one(delivery)
            else:
                together.append(delivery)
        await self._apply_together(together)

    async def _decode(self, raw: Msg) -> _Delivery | None:
        deliveries = raw.metadata.num_delivered if raw.metadata else 1
        try:
            envelope = decode_event(raw.data)
            _, handler = self._handler_for(envelope)
            payload = envelope.payload()
        except (msgspec.ValidationError, msgspec.DecodeError, UnknownContractError, PermanentError) as exc:
            await self._dead_letter(raw, exc, deliveries)
            return None
        return _Delivery(raw, envelope, payload, handler, deliveries)

    async def _apply_together(self, group: list[_Delivery]) -> None:
        while len(group) > 1:
            try:
                done, applied = await self._apply_batch(group)
            except Exception as exc:  # any failure: the messages are tried one by one
                log.info(
                    "%s: a batch of %d failed (%s); applying its events one by one",
                    self.module,
                    len(group),
                    type(exc).__name__,
                )
                break
            for delivery in group[:done]:
                await delivery.raw.ack()
            self.handled += applied
            group = group[done:]
        for delivery in group:
            await self.handle_one(delivery)

    async def _apply_batch(self, group: list[_Delivery]) -> tuple[int, int]:
        """Apply events of ``group`` in one transaction, as many as fit in the time budget.

        Returns how many were taken (committed, to be acked) and how many of them were new.
        """
        deadline = time.perf_counter() + BATCH_BUDGET
        unique: dict[str, _Delivery] = {}
        for delivery in group:
            unique.setdefault(delivery.envelope.id, delivery)  # the same event twice in one fetch
        async with self.transactions.batch() as batch:
            session = batch.session
            await one_case_at_a_time(session, (d.envelope.subject for d in group))
            now = time.time()
            # one statement records every event id and tells which were there already
            recorded = await RECORD_NEW.execute(
                session, *({"consumer": self.module, "event_id": i, "processed_at": now} for i in unique)
            )
            new = set(recorded.scalars().all())
            taken = applied = 0
            for delivery in group:
                taken += 1
                if delivery.envelope.id in new:
                    new.discard(delivery.envelope.id)
                    await self._run_handler(delivery, batch.unit(delivery.envelope))
                    applied += 1
                if time.perf_counter() > deadline and taken < len(group):
                    break
            if taken < len(group):  # ids recorded for events left for the next transaction
                rest = {d.envelope.id for d in group[taken:]} - {d.envelope.id for d in group[:taken]}
                await session.execute(
                    processed_table.delete().where(
                        processed_table.c.consumer == self.module,
                        processed_table.c.event_id.in_(sorted(rest)),
                        processed_table.c.processed_at == now,
                    )
                )
        self.batches += 1
        return taken, applied

    async def _run_handler(self, delivery: _Delivery, uow: UnitOfWork) -> None:
        """One event's handler, in the trace the message carries."""
        envelope = delivery.envelope
        with (
            case_context(envelope.subject, parent=dict(delivery.raw.headers or {})),
            self.tracer.start_as_current_span(
                f"{self.module} handle {envelope.type}",
                attributes={"rathaus.module": self.module, "cloudevents.event_id": envelope.id},
            ),
        ):
            await delivery.handler(delivery.payload, uow)

    async def handle_one(self, delivery: _Delivery) -> None:
        """Apply one message in its own transaction: ack, retry later, or park it."""
        raw, envelope, deliveries = delivery.raw, delivery.envelope, delivery.deliveries
        try:
            applied = await self._apply(delivery)
        except RetryLater as exc:
            log.warning(
                "%s cannot handle %s yet (delivery %d), retrying: %s",
                self.module,
                envelope.type,
                deliveries,
                exc,
            )
            await raw.nak(delay=min(0.2 * 2 ** min(deliveries, 6), 10.0))
            return
        except Exception as exc:
            if database_away(exc):
                log.warning(
                    "%s: the database is away while handling %s (delivery %d), retrying: %s",
                    self.module,
                    envelope.type,
                    deliveries,
                    type(exc).__name__,
                )
                await raw.nak(delay=min(0.2 * 2 ** min(deliveries, 6), 10.0))
                return
            log.warning("%s failed on %s (delivery %d): %s", self.module, envelope.type, deliveries, exc)
            if deliveries >= self.max_deliver:
                await self._dead_letter(raw, exc, deliveries)
            else:
                await raw.nak(delay=min(0.2 * 2**deliveries, 10.0))
            return
        await raw.ack()
        if applied:
            self.handled += 1

    def _handler_for(self, envelope: CloudEvent) -> tuple[type[Event], Handler]:
        try:
            return self.subs.handlers[envelope.type]
        except KeyError:
            raise PermanentError(f"{self.module} has no handler for {envelope.type}") from None

    async def _apply(self, delivery: _Delivery) -> bool:
        """Run the handler once per event id; False when it had already been applied."""
        envelope = delivery.envelope
        try:
            async with self.transactions(envelope) as uow:
                await one_case_at_a_time(uow.session, [envelope.subject])
                # one statement records the event id and tells whether it was there already
                try:
                    recorded = await RECORD.execute(
                        uow.session,
                        {"consumer": self.module, "event_id": envelope.id, "processed_at": time.time()},
                    )
                except IntegrityError:
                    raise _AlreadyApplied from None
                if cast(CursorResult[Any], recorded).rowcount == 0:
                    return False
                # an IntegrityError of the handler's own is a failure like any other: retried,
                # then dead-lettered, never taken for a duplicate delivery
                await self._run_handler(delivery, uow)
        except _AlreadyApplied:
            # a concurrent delivery of the same event won the race; ours is a duplicate
            return False
        return True

    async def _dead_letter(self, raw: Any, exc: BaseException, deliveries: int) -> None:
        original = raw.subject
        if original.startswith(f"{REPLAY_PREFIX}.{self.module}."):
            original = original.removeprefix(f"{REPLAY_PREFIX}.{self.module}.")
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        # one entry per message and consumer, however often it came: a message delivered
        # again because its ack was late (the process stood still past ack_wait) is parked
        # once. The stream's name keeps a replay's sequence apart from the original's.
        meta = raw.metadata
        key = f"{meta.stream}:{meta.sequence.stream}" if meta else str(uuid.uuid4())
        headers = {
            "Nats-Msg-Id": f"dl:{self.module}:{key}",
            "Rathaus-Consumer": self.module,
            "Rathaus-Subject": original,
            # NATS headers carry ASCII: German messages (umlauts) travel percent-encoded
            "Rathaus-Error": quote(error[:1000], safe=ERROR_SAFE),
            "Rathaus-Deliveries": str(deliveries),
            "Rathaus-Failed-At": str(time.time()),
        }
        assert self._js is not None, "the consumer has not been started"
        await self._js.publish(
            f"{DEADLETTER_PREFIX}.{self.module}.{original.removeprefix('rathaus.')}",
            raw.data,
            headers=headers,
            stream=DEADLETTER_STREAM,
            timeout=5.0,
        )
        await raw.ack()
        self.dead_lettered += 1
        log.error("%s dead-lettered a message on %s: %s", self.module, original, error)
