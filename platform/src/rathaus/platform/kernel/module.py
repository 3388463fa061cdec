"""The kernel as a module sees it: one object with its database, bus, outbox, blobs
and telemetry, built the same way for every module."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from faststream.nats import NatsBroker
from litestar.types import ControllerRouterHandler
from nats.js.client import JetStreamContext
from opentelemetry import context, propagate, trace
from sqlalchemy import MetaData
from txoutbox import OutboxMessage

from rathaus.contracts.rpc import Rpc
from rathaus.platform.kernel import rpc
from rathaus.platform.kernel.appointments import Calendars, load_calendars
from rathaus.platform.kernel.blobs import BlobStore
from rathaus.platform.kernel.bus import (
    bound_unacknowledged,
    ensure_streams,
    make_broker,
    publish_retrying,
    stream_name,
)
from rathaus.platform.kernel.consumer import EventConsumer, Subscriptions
from rathaus.platform.kernel.db import Database
from rathaus.platform.kernel.mail_outbox import MailOutbox
from rathaus.platform.kernel.outbox import SqlAlchemyOutboxStorage, make_relay
from rathaus.platform.kernel.procedures import ProcedureChanged, Procedures, load_procedures
from rathaus.platform.kernel.procedures.pins import verify as verify_pins
from rathaus.platform.kernel.settings import Settings
from rathaus.platform.kernel.telemetry import instrument_engine, tracer_provider
from rathaus.platform.kernel.uow import Transactions

log = logging.getLogger("rathaus.kernel")
Req = TypeVar("Req", bound=msgspec.Struct)
Res = TypeVar("Res", bound=msgspec.Struct)
Hook = Callable[[], Awaitable[None]]


@dataclass
class ModuleApp:
    """What a module's bootstrap hands back to the runtime."""

    routes: Sequence[ControllerRouterHandler] = ()
    templates: Path | None = None
    migrations: Path | None = None
    metadata: MetaData | None = None
    on_start: list[Hook] = field(default_factory=list)
    on_stop: list[Hook] = field(default_factory=list)
    health: dict[str, Callable[[], Awaitable[bool]]] = field(default_factory=dict)
    seed: Hook | None = None  # demo data for a fresh data dir; must be idempotent


class Kernel:
    """Everything the kernel gives one module, wired and owned in one place."""

    def __init__(self, module: str, settings: Settings, blobs: BlobStore | None = None) -> None:
        self.module = module
        self.settings = settings
        # services as data: read and checked before anything else starts
        self.procedures: Procedures = load_procedures(settings.procedure_dirs, settings.builtin_procedures)
        # appointment calendars as data (the Bürgerbüros): read and checked with them
        self.appointments: Calendars = load_calendars(
            self.procedures, settings.procedure_dirs, settings.builtin_procedures
        )
        self.provider = tracer_provider(
            module,
            data_dir=settings.data_dir,
            otlp_endpoint=settings.otlp_endpoint,
            sample_ratio=settings.telemetry.sample_ratio,
        )
        self.tracer = self.provider.get_tracer(f"rathaus.{module}")
        self.db = Database(
            settings.database_url(module),
            module=module,
            power_safe=settings.sqlite_power_safe.get(module, True),
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
        if settings.telemetry.sql_spans:
            instrument_engine(self.db, self.provider)
        self.blobs = blobs or BlobStore(settings.blob_location())
        self.broker: NatsBroker = make_broker(settings, module, self.provider)
        self.subscriptions = Subscriptions(module)
        # which of several processes of this module on one host this is (``rathaus serve``
        # twice, RATHAUS_REPLICA 0, 1, …): names its leases and its process-local state
        self.replica = os.environ.get("RATHAUS_REPLICA", "0")
        self.worker_id = f"{module}@{socket.gethostname()}#{self.replica}"
        self.outbox_storage = SqlAlchemyOutboxStorage(self.db)
        self.relay = make_relay(self.db, self._publish, worker_id=self.worker_id)
        self.mails = MailOutbox(self.db, settings)
        self.transaction = Transactions(self.db, self.relay.wake)
        self.consumer = EventConsumer(
            self.subscriptions,
            self.transaction,
            max_deliver=settings.nats.max_deliver,
            ack_wait=settings.nats.ack_wait_seconds,
            tracer=self.tracer,
            replicas=settings.nats.replicas,
        )
        self._relay_task: asyncio.Task[None] | None = None
        self._mail_task: asyncio.Task[None] | None = None
        self._js: JetStreamContext | None = None
        self.publish_retries = 0  # publishes tried again while the cluster recovered

    async def _publish(self, message: OutboxMessage) -> None:
        """The relay's publish: straight to JetStream (the broker's connection), in a span
        that continues the trace the event was staged in and that its consumers continue."""
        headers = dict(message.headers)
        token = context.attach(propagate.extract(headers))
        try:
            with self.tracer.start_as_current_span(
                f"{self.module} publish {message.topic}", kind=trace.SpanKind.PRODUCER
            ):
                propagate.inject(headers)
                await publish_retrying(
                    self._js or self.broker.connection.jetstream(),
                    message.payload,
                    message.topic,
                    headers=headers,
                    stream=stream_name(message.topic.split(".")[1]),
                    retry_for=self.settings.nats.publish_retry_seconds,
                    on_retry=self._count_publish_retry,
                )
        finally:
            context.detach(token)

    def _count_publish_retry(self, error: BaseException) -> None:
        self.publish_retries += 1
        log.warning("%s: publish to be tried again: %s", self.module, type(error).__name__)

    async def start(self, app: ModuleApp, *, seed: bool = False) -> None:
        """Migrate, seed, connect, consume, relay: in that order, so nothing runs on an old schema."""
        await self.db.migrate(app.migrations, app.metadata)
        async with self.db.read() as session:
            changed = await verify_pins(session, self.procedures)
        if changed:
            raise ProcedureChanged("\n".join(changed))
        if seed and app.seed is not None:
            await app.seed()
        await self.broker.connect()
        # the first connection too (a reconnect sets it in the broker's callback)
        bound_unacknowledged(self.broker.connection, self.settings.nats.ping_interval_seconds * 3)
        js = self._js = self.broker.connection.jetstream()
        await ensure_streams(js, self.settings.nats.replicas)
        await self.broker.start()
        await self.consumer.start(js)
        await self.outbox_storage.release_own_leases(self.worker_id)
        await self.outbox_storage.purge_sent()
        self._relay_task = asyncio.create_task(self.relay.run(), name=f"relay-{self.module}")
        self._mail_task = asyncio.create_task(self.mails.run(), name=f"mail-{self.module}")
        for hook in app.on_start:
            await hook()

    async def stop(self, app: ModuleApp) -> None:
        await self.consumer.stop()  # first: the handlers may need what the hooks close
        for hook in app.on_stop:
            await hook()
        self.relay.stop()
        self.mails.stop()
        for task in (self._relay_task, self._mail_task):
            if task is not None:
                await task
        await self.broker.stop()
        await self.db.dispose()

    async def healthy(self) -> dict[str, Any]:
        stats = await self.outbox_storage.stats()
        mails = await self.mails.backlog()
        connected = self.broker._connection is not None and self.broker.connection.is_connected
        return {
            "ok": connected,
            "nats": "connected" if connected else "disconnected",
            "outbox_pending": stats.pending,
            "outbox_dead": stats.dead,
            "handled": self.consumer.handled,
            "dead_lettered": self.consumer.dead_lettered,
            "publish_retries": self.publish_retries,
            "mails_waiting": mails["waiting"],
            "mails_failed": mails["failed"],
        }

    def answer(self, contract: Rpc[Req, Res], handler: Callable[[Req], Awaitable[Res]]) -> None:
        """Serve a request/reply contract (register in bootstrap, before start)."""
        rpc.serve(self.broker, self.module, contract, handler)

    async def ask(self, contract: Rpc[Req, Res], request: Req, timeout: float = 5.0) -> Res:
        """Call another module's request/reply contract; raises ``RpcFailed``."""
        return await rpc.call(self.broker, contract, request, timeout)
