"""The kernel on a three-node JetStream cluster: R3 streams and consumers, and the outbox
relay and a consumer across the SIGKILL of the stream's leader node."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
import sqlalchemy as sa
from nats.js.errors import BadRequestError

from rathaus.contracts import DataClass, Event, contract
from rathaus.platform.kernel import Kernel, ModuleApp, Settings, UnitOfWork
from rathaus.platform.kernel.bus import NO_PEERS_FOR_PLACEMENT, ensure_streams, publish_retrying, stream_name
from rathaus.platform.kernel.outbox import outbox_table
from rathaus.platform.kernel.settings import NatsSettings, TemporalSettings
from rathaus.platform.runtime.natscluster import NatsCluster
from rathaus.platform.runtime.processes import free_port
from rathaus.platform.testing import eventually, report

EVENTS = 240


@contract(
    producer="platform", entity="cluster-probe", happened="sent", version=1, data_class=DataClass.INTERNAL
)
class ClusterProbeSent(Event, frozen=True, kw_only=True):
    """A test-only contract."""

    n: int


applied_md = sa.MetaData()
applied = sa.Table(
    "cluster_applied",
    applied_md,
    sa.Column("event_id", sa.String, primary_key=True),
    sa.Column("n", sa.Integer),
)


def cluster_settings(tmp_path: Path, cluster: NatsCluster) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        nats=NatsSettings(url=cluster.url, replicas=3, max_deliver=3, ack_wait_seconds=5),
        temporal=TemporalSettings(),
        seed_demo=False,
        secret_key="test-secret-key-test-secret-key-0000",
    )


@pytest.fixture
async def pair(tmp_path: Path, nats_cluster: NatsCluster) -> AsyncIterator[tuple[Kernel, Kernel, list[int]]]:
    """A producer (the portal's kernel: outbox and relay) and a consumer (the E-Akte's
    kernel) that records every event it applies, both on the cluster."""
    settings = cluster_settings(tmp_path, nats_cluster)
    producer, consumer = Kernel("portal", settings), Kernel("eakte", settings)
    calls: list[int] = []

    @consumer.subscriptions.on(ClusterProbeSent)
    async def on_probe(event: ClusterProbeSent, uow: UnitOfWork) -> None:
        assert uow.envelope is not None
        calls.append(event.n)
        await uow.session.execute(applied.insert().values(event_id=uow.envelope.id, n=event.n))

    app = ModuleApp()
    await producer.start(app)
    async with consumer.db.engine.begin() as conn:
        await conn.run_sync(applied_md.create_all)
    await consumer.start(app)
    yield producer, consumer, calls
    await consumer.stop(app)
    await producer.stop(app)


async def test_streams_and_consumers_have_three_replicas(
    pair: tuple[Kernel, Kernel, list[int]], nats_cluster: NatsCluster
) -> None:
    nc = await nats.connect(nats_cluster.servers)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream_name("platform"))
        assert info.config.num_replicas == 3
        assert info.cluster is not None and info.cluster.leader in {n.name for n in nats_cluster.nodes}
        consumer = await js.consumer_info(stream_name("platform"), "eakte")
        assert consumer.config.num_replicas == 3
    finally:
        await nc.close()


async def test_outbox_and_consumer_exactly_once_across_a_leader_sigkill(
    pair: tuple[Kernel, Kernel, list[int]], nats_cluster: NatsCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    producer, consumer, calls = pair
    stream = stream_name("platform")
    leader = await nats_cluster.leader(stream)
    emitted: list[str] = []

    async def emit(start: int, count: int) -> None:
        for n in range(start, start + count):
            async with producer.transaction() as uow:
                emitted.append((await uow.emit(ClusterProbeSent(n=n), subject=str(uuid.uuid4()))).id)
            await asyncio.sleep(0)

    await emit(0, EVENTS // 2)

    async def some_applied() -> bool:
        return len(calls) >= EVENTS // 8

    await eventually(some_applied, timeout=30)
    second_half = asyncio.create_task(emit(EVENTS // 2, EVENTS // 2))

    async def relay_busy() -> bool:
        return len(emitted) >= EVENTS // 2 + 10

    await eventually(relay_busy, timeout=30, interval=0.01)
    leader.kill()  # while the relay publishes and the consumer applies
    await second_half

    async def all_applied() -> bool:
        async with consumer.db.session() as s:
            return (
                int((await s.execute(sa.select(sa.func.count()).select_from(applied))).scalar_one()) >= EVENTS
            )

    await eventually(all_applied, timeout=90, interval=0.2)
    new_leader = await nats_cluster.leader(stream)
    assert new_leader is not leader

    # the same events once more, with their own Nats-Msg-Id: the stream drops them
    nc = await nats.connect(nats_cluster.servers)
    try:
        js = nc.jetstream()
        async with producer.db.session() as s:
            rows = (await s.execute(sa.select(outbox_table).limit(20))).mappings().all()
        for row in rows:
            await publish_retrying(
                js, row["payload"], row["topic"], headers=dict(row["headers"]), stream=stream, retry_for=15
            )
        leader.start()
        await eventually(lambda: nats_cluster.replicated(stream), timeout=60, interval=0.2)
        stored = (await js.stream_info(stream, subjects_filter=ClusterProbeSent.__contract__.subject)).state
        info = await js.stream_info(stream)
    finally:
        await nc.close()

    async with consumer.db.session() as s:
        got = [tuple(r) for r in (await s.execute(sa.select(applied.c.event_id, applied.c.n))).all()]
    async with producer.db.session() as s:
        pending = (
            await s.execute(
                sa.select(sa.func.count()).select_from(outbox_table).where(outbox_table.c.status == "pending")
            )
        ).scalar_one()
    assert sorted(n for _, n in got) == list(range(EVENTS)), "an event lost or applied twice"
    assert {e for e, _ in got} == set(emitted)
    assert stored.messages == EVENTS, f"{stored.messages} messages in the stream for {EVENTS} events"
    assert pending == 0
    assert info.cluster is not None and len(info.cluster.replicas or []) == 2
    report(
        capsys,
        (
            f"leader {leader.name} SIGKILLed with {EVENTS // 2} events on their way, restarted; "
            f"new leader {new_leader.name}; {len(emitted)} events emitted, {stored.messages} stored "
            f"(20 published again, dropped by Nats-Msg-Id), {len(got)} applied once each "
            f"({len(calls)} handler calls incl. batches applied again), "
            f"{producer.publish_retries} publishes tried again by the relay; replicas current again"
        ),
    )


async def test_streams_wait_for_a_cluster_whose_third_node_comes_late(tmp_path: Path) -> None:
    """Two of three nodes elect a meta leader, but an R3 stream needs three current peers:
    JetStream refuses it ("no suitable peers for placement", as when a cluster forms), and
    the start waits for the third node instead of failing."""
    cluster = NatsCluster.on_loopback(
        tmp_path, 3, ports=[free_port() for _ in range(3)], cluster_ports=[free_port() for _ in range(3)]
    )
    cluster.write_configs()
    first_two, late = cluster.nodes[:2], cluster.nodes[2]
    try:
        for node in first_two:
            node.start()
        await eventually(cluster.jetstream_ready, timeout=60, interval=0.2)
        nc = await nats.connect(cluster.servers)
        try:
            js = nc.jetstream()
            with pytest.raises(BadRequestError) as refused:
                await ensure_streams(js, 3, retry_for=0)
            assert refused.value.err_code == NO_PEERS_FOR_PLACEMENT
            starting = asyncio.create_task(ensure_streams(js, 3, retry_for=120))
            late.start()
            await starting
            info = await js.stream_info(stream_name("platform"))
            assert info.config.num_replicas == 3
            assert info.cluster is not None and len(info.cluster.replicas or []) == 2
        finally:
            await nc.close()
    finally:
        cluster.stop()
