"""Idempotent consumers with bounded retries and a dead-letter stream.

Each module has one durable pull consumer per producer stream, filtered to the
subjects it handles, plus one on its replay subject. A message is handled in one
transaction that also records its event id, then acked; a message whose handler
keeps failing goes to ``rathaus.deadletter.<module>.<subject>`` after
``max_deliver`` attempts; an envelope that cannot be decoded goes there at once. A
handler that raises ``RetryLater`` (what it needs is away) is retried without limit.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast
from urllib.parse import quote

import msgspec
from faststream.middlewares import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from opentelemetry import trace
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from rathaus.contracts import CloudEvent, Event, decode_event
from rathaus.contracts.envelope import UnknownContractError
from rathaus.platform.kernel.bus import DEADLETTER_PREFIX, DEADLETTER_STREAM, REPLAY_PREFIX, stream_name
from rathaus.platform.kernel.outbox import processed_table
from rathaus.platform.kernel.telemetry import case_context
from rathaus.platform.kernel.uow import Transactions, UnitOfWork

log = logging.getLogger("rathaus.consumer")
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

    def on(self, struct: type[E]) -> Callable[[Callable[[E, UnitOfWork], Awaitable[None]]], Any]:
        def register(handler: Callable[[E, UnitOfWork], Awaitable[None]]) -> Any:
            meta = struct.__contract__
            if meta.type in self.handlers:
                raise ValueError(f"{self.module} already handles {meta.type}")
            self.handlers[meta.type] = (struct, handler)
            return handler

        return register

    def subjects_by_producer(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for struct, _ in self.handlers.values():
            meta = struct.__contract__
            out.setdefault(meta.producer, []).append(meta.subject)
        return {k: sorted(v) for k, v in out.items()}


async def _raw_body(message: Any) -> bytes:
    # the envelope is decoded by the kernel, against the registered contract
    return bytes(message.body)


FETCH_TIMEOUT = 0.2  # seconds


def _insert_for(dialect: str) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` of the database at hand (SQLite or PostgreSQL)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    return sqlite_insert


class _AlreadyApplied(Exception):
    """Another delivery of the same event recorded it first."""


class PermanentError(Exception):
    """A message that can never be handled: dead-lettered without retries."""


class RetryLater(Exception):
    """What the handler needs is unavailable (Temporal restarting, a service away): not the
    message's fault, so it is retried for as long as that lasts and never dead-lettered."""


class EventConsumer:
    def __init__(
        self,
        subscriptions: Subscriptions,
        broker: NatsBroker,
        transactions: Transactions,
        *,
        max_deliver: int,
        ack_wait: float,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self.subs = subscriptions
        self.module = subscriptions.module
        self.broker = broker
        self.transactions = transactions
        self.max_deliver = max_deliver
        self.ack_wait = ack_wait
        self.tracer = tracer or trace.get_tracer("rathaus.consumer")
        self.handled = 0
        self.dead_lettered = 0

    def attach(self) -> None:
        """Declare the module's durable consumers on the broker (before it starts)."""
        for producer, subjects in self.subs.subjects_by_producer().items():
            self._subscribe(stream_name(producer), self.module, subjects)
        if self.subs.handlers:
            self._subscribe(DEADLETTER_STREAM, f"{self.module}-replay", [f"{REPLAY_PREFIX}.{self.module}.>"])

    def _subscribe(self, stream: str, durable: str, subjects: list[str]) -> None:
        config = ConsumerConfig(
            durable_name=durable,
            filter_subjects=subjects,
            ack_wait=self.ack_wait,
            max_ack_pending=256,
        )

        async def on_message(body: bytes, message: NatsMessage) -> None:
            await self.handle(body, message)

        self.broker.subscriber(
            "",
            stream=JStream(stream, declare=False),
            durable=durable,
            config=config,
            # nats-py's fetch returns what is there at once, but once its lingering request
            # got a first message it waits for a full batch or the timeout: with 1 s, every
            # hop of a case at light load waited up to a second. A short timeout bounds
            # that wait; an idle consumer polls a few times a second instead of once.
            pull_sub=PullSub(batch_size=32, timeout=FETCH_TIMEOUT),
            ack_policy=AckPolicy.MANUAL,
            decoder=_raw_body,
            title=f"{self.module}:{stream}",
        )(on_message)

    async def handle(self, body: bytes, message: Any) -> None:
        raw = message.raw_message
        deliveries = raw.metadata.num_delivered if raw.metadata else 1
        try:
            envelope = decode_event(raw.data)
            _, handler = self._handler_for(envelope)
            payload = envelope.payload()
        except (msgspec.ValidationError, msgspec.DecodeError, UnknownContractError, PermanentError) as exc:
            await self._dead_letter(raw, exc, deliveries)
            return
        with (
            case_context(envelope.subject),
            self.tracer.start_as_current_span(
                f"{self.module} handle {envelope.type}",
                attributes={"rathaus.module": self.module, "cloudevents.event_id": envelope.id},
            ),
        ):
            try:
                applied = await self._apply(envelope, payload, handler)
            except RetryLater as exc:
                log.warning(
                    "%s cannot handle %s yet (delivery %d), retrying: %s",
                    self.module,
                    envelope.type,
                    deliveries,
                    exc,
                )
                await message.nack(delay=min(0.2 * 2 ** min(deliveries, 6), 10.0))
                return
            except Exception as exc:
                log.warning("%s failed on %s (delivery %d): %s", self.module, envelope.type, deliveries, exc)
                if deliveries >= self.max_deliver:
                    await self._dead_letter(raw, exc, deliveries)
                else:
                    await message.nack(delay=min(0.2 * 2**deliveries, 10.0))
                return
        await message.ack()
        if applied:
            self.handled += 1

    def _handler_for(self, envelope: CloudEvent) -> tuple[type[Event], Handler]:
        try:
            return self.subs.handlers[envelope.type]
        except KeyError:
            raise PermanentError(f"{self.module} has no handler for {envelope.type}") from None

    async def _apply(self, envelope: CloudEvent, payload: Event, handler: Handler) -> bool:
        """Run the handler once per event id; False when it had already been applied."""
        try:
            async with self.transactions(envelope) as uow:
                # one statement records the event id and tells whether it was there already
                insert = _insert_for(uow.session.bind.dialect.name)
                try:
                    recorded = await uow.session.execute(
                        insert(processed_table)
                        .values(consumer=self.module, event_id=envelope.id, processed_at=time.time())
                        .on_conflict_do_nothing()
                    )
                except IntegrityError:
                    raise _AlreadyApplied from None
                if cast(CursorResult[Any], recorded).rowcount == 0:
                    return False
                # an IntegrityError of the handler's own is a failure like any other: retried,
                # then dead-lettered, never taken for a duplicate delivery
                await handler(payload, uow)
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
        await self.broker.publish(
            raw.data,
            f"{DEADLETTER_PREFIX}.{self.module}.{original.removeprefix('rathaus.')}",
            headers=headers,
            stream=DEADLETTER_STREAM,
            timeout=5.0,
        )
        await raw.ack()
        self.dead_lettered += 1
        log.error("%s dead-lettered a message on %s: %s", self.module, original, error)
