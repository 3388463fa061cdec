"""The bus: contract-validated publish + consume through the kernel against raw nats-py.

Both sides move the same ``ApplicationSubmitted`` CloudEvent bytes through JetStream on
one nats-server. The kernel path is the only one a module has: the event is staged in a
transaction (outbox), the relay publishes it with its ``Nats-Msg-Id``, the consumer
decodes and validates the envelope and the payload against the contract, records the
event id in the same transaction as the handler's effect, and acks. The raw path
publishes the bytes with ``js.publish`` (acknowledged) and pulls and acks them.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import nats
from nats.js.api import ConsumerConfig, StreamConfig

from rathaus.contracts.common import Address, Person
from rathaus.contracts.envelope import encode_event, new_event
from rathaus.contracts.portal.v1 import Applicant, ApplicationSubmitted
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.settings import NatsSettings
from rathaus.platform.kernel.telemetry import shutdown_providers
from rathaus.platform.kernel.uow import UnitOfWork
from rathaus.platform.runtime.processes import free_port, nats_server

EMITTERS = 16  # concurrent transactions staging events, as concurrent requests would


@dataclass
class BusResult:
    messages: int
    kernel_per_s: float
    raw_per_s: float

    @property
    def ratio(self) -> float:
        return self.kernel_per_s / self.raw_per_s if self.raw_per_s else 0.0


def application(case_id: str) -> ApplicationSubmitted:
    return ApplicationSubmitted(
        case_id=case_id,
        service_id="bewohnerparkausweis",
        account_id=str(uuid.uuid4()),
        applicant=Applicant(
            person=Person(given_name="Bench", family_name="Mark", birth_date="1980-01-01"),
            address=Address(street="Zenettistraße", house_number="12", postal_code="80337"),
            email="bench@example.org",
        ),
        form={"kennzeichen": "M-BM 1", "halter": "ja"},
        submitted_at=datetime.now(UTC).isoformat(),
    )


async def _kernel(url: str, data_dir: Path, messages: int, replicas: int = 1) -> float:
    def settings(name: str) -> Settings:
        return Settings(
            data_dir=data_dir / name,
            nats=NatsSettings(url=url, max_deliver=5, ack_wait_seconds=30, replicas=replicas),
            secret_key="bench-secret-bench-secret-bench-00",  # noqa: S106 - a local benchmark key
            seed_demo=False,
        )

    producer = Kernel("portal", settings("producer"))
    consumer = Kernel("eakte", settings("consumer"))
    done = asyncio.Event()
    seen = 0

    @consumer.subscriptions.on(ApplicationSubmitted)
    async def count(event: ApplicationSubmitted, uow: UnitOfWork) -> None:
        nonlocal seen
        seen += 1
        if seen >= messages:
            done.set()

    await producer.start(ModuleApp())
    await consumer.start(ModuleApp())
    try:
        queue: asyncio.Queue[str] = asyncio.Queue()
        for _ in range(messages):
            queue.put_nowait(str(uuid.uuid4()))

        async def emitter() -> None:
            while not queue.empty():
                case_id = queue.get_nowait()
                async with producer.transaction() as uow:
                    await uow.emit(application(case_id), subject=case_id)

        started = time.perf_counter()
        await asyncio.gather(*(emitter() for _ in range(EMITTERS)))
        await asyncio.wait_for(done.wait(), timeout=600)
        return messages / (time.perf_counter() - started)
    finally:
        await consumer.stop(ModuleApp())
        await producer.stop(ModuleApp())


async def _raw(url: str, messages: int) -> float:
    """The same bytes, acknowledged publishes (a window of EMITTERS in flight), pulled and acked."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="RAW_BENCH", subjects=["raw.bench.>"]))
    payloads = [
        encode_event(new_event(application(c), subject=c))
        for c in (str(uuid.uuid4()) for _ in range(messages))
    ]
    sub = await js.pull_subscribe(
        "raw.bench.>", durable="raw", stream="RAW_BENCH", config=ConsumerConfig(max_ack_pending=256)
    )
    consumed = 0

    async def consume() -> None:
        nonlocal consumed
        while consumed < messages:
            try:
                batch = await sub.fetch(32, timeout=0.2)
            except nats.errors.TimeoutError:
                continue
            for msg in batch:
                msgspec.json.decode(msg.data)  # a consumer reads what it gets
                await msg.ack()
            consumed += len(batch)

    async def publish(chunk: list[bytes]) -> None:
        for data in chunk:
            await js.publish("raw.bench.application", data, headers={"Nats-Msg-Id": str(uuid.uuid4())})

    started = time.perf_counter()
    reader = asyncio.create_task(consume())
    await asyncio.gather(*(publish(payloads[i::EMITTERS]) for i in range(EMITTERS)))
    await asyncio.wait_for(reader, timeout=600)
    elapsed = time.perf_counter() - started
    await nc.close()
    return messages / elapsed


async def run(messages: int = 5000) -> BusResult:
    with tempfile.TemporaryDirectory(prefix="rathaus-bench-bus-") as tmp:
        port = free_port()
        server = nats_server(Path(tmp) / "nats", port)
        server.start()
        try:
            url = f"nats://127.0.0.1:{port}"
            raw = await _raw(url, messages)
            kernel = await _kernel(url, Path(tmp), messages)
        finally:
            shutdown_providers()  # the spans' files live in tmp
            server.stop()
    return BusResult(messages, kernel, raw)


@dataclass
class ClusterBusResult:
    messages: int
    default_per_s: float  # the server's fsync every two minutes
    always_per_s: float  # sync_interval = "always"

    @property
    def cost(self) -> float:
        """The share of throughput that fsync before every ack costs."""
        return 1 - self.always_per_s / self.default_per_s if self.default_per_s else 0.0


async def run_cluster(messages: int = 5000) -> ClusterBusResult:
    """The kernel path on a 3-node cluster with R3 streams and consumers (on this one
    host), once with the server's default fsync interval and once with ``always``."""
    from rathaus.platform.runtime.natscluster import NatsCluster

    rates: dict[str, float] = {}
    for sync in ("", "always"):
        with tempfile.TemporaryDirectory(prefix="rathaus-bench-cluster-") as tmp:
            ports = [free_port() for _ in range(6)]
            cluster = NatsCluster.on_loopback(
                Path(tmp) / "nats", 3, ports=ports[:3], cluster_ports=ports[3:], sync_interval=sync or None
            )
            cluster.start()
            try:
                deadline = time.monotonic() + 60
                while not await cluster.jetstream_ready():
                    if time.monotonic() > deadline:
                        raise RuntimeError("the NATS cluster elected no meta leader within 60 s")
                    await asyncio.sleep(0.2)  # polling the cluster's readiness
                rates[sync] = await _kernel(cluster.url, Path(tmp), messages, replicas=3)
            finally:
                shutdown_providers()
                cluster.stop()
    return ClusterBusResult(messages, rates[""], rates["always"])
