"""The kernel's delivery guarantees against a real nats-server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock

import nats
import pytest
import sqlalchemy as sa

from rathaus.contracts import DataClass, Event, contract, encode_event, new_event
from rathaus.platform.kernel import Kernel, ModuleApp, Settings, UnitOfWork
from rathaus.platform.kernel.bus import ensure_streams, stream_name
from rathaus.platform.kernel.consumer import RetryLater
from rathaus.platform.kernel.deadletters import list_dead_letters, replay
from rathaus.platform.kernel.outbox import outbox_table
from rathaus.platform.testing import eventually


@contract(producer="platform", entity="probe", happened="sent", version=1, data_class=DataClass.INTERNAL)
class ProbeSent(Event, frozen=True, kw_only=True):
    """A test-only contract."""

    n: int


applied_md = sa.MetaData()
applied = sa.Table(
    "applied", applied_md, sa.Column("event_id", sa.String, primary_key=True), sa.Column("n", sa.Integer)
)


class Consumer:
    def __init__(self, settings: Settings) -> None:
        self.kernel = Kernel("eakte", settings)
        self.broken = False
        self.poison: set[int] = set()  # values of n whose handler always fails
        self.unavailable = 0  # deliveries that find what the handler needs away (Temporal down)
        self.conflicts = 0  # deliveries that hit a duplicate key of the handler's own table
        self.calls = 0

        @self.kernel.subscriptions.on(ProbeSent)
        async def on_probe(event: ProbeSent, uow: UnitOfWork) -> None:
            self.calls += 1
            if self.broken or event.n in self.poison:
                raise RuntimeError("the handler's cause is not fixed yet")
            if self.unavailable:
                self.unavailable -= 1
                raise RetryLater("the service the handler calls is down")
            assert uow.envelope is not None
            if self.conflicts:
                self.conflicts -= 1
                await uow.session.execute(applied.insert().values(event_id="taken", n=0))
            await uow.session.execute(applied.insert().values(event_id=uow.envelope.id, n=event.n))

    async def rows(self) -> list[tuple[str, int]]:
        async with self.kernel.db.session() as s:
            return [tuple(r) for r in (await s.execute(sa.select(applied))).all()]  # type: ignore[misc]


@pytest.fixture
async def pair(settings: Settings) -> AsyncIterator[tuple[Kernel, Consumer]]:
    producer = Kernel("portal", settings)
    consumer = Consumer(settings)
    app = ModuleApp()
    await producer.start(app)
    async with consumer.kernel.db.engine.begin() as conn:
        await conn.run_sync(applied_md.create_all)
    await consumer.kernel.start(app)
    yield producer, consumer
    await consumer.kernel.stop(app)
    await producer.stop(app)


async def test_event_from_outbox_is_applied_once_even_when_delivered_twice(
    pair: tuple[Kernel, Consumer], settings: Settings
) -> None:
    producer, consumer = pair
    case_id = str(uuid.uuid4())
    async with producer.transaction() as uow:
        sent = await uow.emit(ProbeSent(n=7), subject=case_id)

    async def applied_once() -> bool:
        return len(await consumer.rows()) == 1

    await eventually(applied_once)
    # the same event again (a redelivery, a replayed outbox row): ignored by the consumer
    nc = await nats.connect(settings.nats.url)
    js = nc.jetstream()
    await js.publish(sent.contract.subject, encode_event(sent), headers={"Nats-Msg-Id": "again"})
    await js.publish(sent.contract.subject, encode_event(new_event(ProbeSent(n=8))))
    await nc.close()

    async def second_event_applied() -> bool:
        return len(await consumer.rows()) == 2

    await eventually(second_event_applied)
    assert sorted(n for _, n in await consumer.rows()) == [7, 8]
    assert (sent.id, 7) in await consumer.rows()
    assert consumer.kernel.consumer.handled == 2


async def test_rolled_back_transaction_publishes_nothing(
    pair: tuple[Kernel, Consumer], settings: Settings
) -> None:
    producer, consumer = pair
    with pytest.raises(RuntimeError):
        async with producer.transaction() as uow:
            await uow.emit(ProbeSent(n=1))
            raise RuntimeError("the state change failed")
    async with producer.transaction() as uow:
        await uow.emit(ProbeSent(n=2))
    nc = await nats.connect(settings.nats.url)

    async def stream_settled() -> bool:
        info = await nc.jetstream().stream_info(stream_name("platform"))
        return info.state.messages >= 1 and len(await consumer.rows()) == 1

    await eventually(stream_settled)
    info = await nc.jetstream().stream_info(stream_name("platform"))
    await nc.close()
    assert info.state.messages == 1
    assert [n for _, n in await consumer.rows()] == [2]


async def test_poison_message_is_dead_lettered_then_replayed_once(
    pair: tuple[Kernel, Consumer], settings: Settings
) -> None:
    producer, consumer = pair
    consumer.broken = True
    async with producer.transaction() as uow:
        poison = await uow.emit(ProbeSent(n=13), subject="case-poison")
    nc = await nats.connect(settings.nats.url)

    async def dead_lettered() -> bool:
        return len(await list_dead_letters(nc, "eakte")) == 1

    await eventually(dead_lettered, timeout=30)
    (letter,) = await list_dead_letters(nc, "eakte")
    assert letter.event_id == poison.id
    assert letter.deliveries == settings.nats.max_deliver == consumer.calls
    assert "not fixed yet" in letter.error
    assert await consumer.rows() == []

    consumer.broken = False  # the operator fixes the cause
    await replay(nc, letter)

    async def replayed() -> bool:
        return len(await consumer.rows()) == 1

    await eventually(replayed)
    assert await consumer.rows() == [(poison.id, 13)]
    assert await list_dead_letters(nc, "eakte") == []
    await nc.close()


async def test_a_poison_message_inside_a_batch_is_dead_lettered_alone_and_the_rest_applied_once(
    settings: Settings,
) -> None:
    """Twenty events wait in the stream before the consumer starts, so its first fetch takes
    them as one batch; the eleventh always fails. The batch's transaction fails and is rolled
    back, its events are applied one by one: nineteen once each, the poison retried alone
    and parked after max_deliver. A batch without poison is then applied in one transaction."""
    producer = Kernel("portal", settings)
    consumer = Consumer(settings)
    consumer.poison = {10}
    app = ModuleApp()
    await producer.start(app)
    nc = await nats.connect(settings.nats.url)
    js = nc.jetstream()
    try:
        async with producer.transaction() as uow:
            for n in range(20):
                await uow.emit(ProbeSent(n=n), subject=f"case-{n}")

        async def all_in_the_stream() -> bool:
            return (await js.stream_info(stream_name("platform"))).state.messages == 20

        await eventually(all_in_the_stream)
        async with consumer.kernel.db.engine.begin() as conn:
            await conn.run_sync(applied_md.create_all)
        await consumer.kernel.start(app)

        async def settled() -> bool:
            return consumer.kernel.consumer.dead_lettered == 1 and len(await consumer.rows()) == 19

        await eventually(settled, timeout=30)
        (letter,) = await list_dead_letters(nc, "eakte")
        assert letter.deliveries == settings.nats.max_deliver
        rows = await consumer.rows()
        assert sorted(n for _, n in rows) == [n for n in range(20) if n != 10]
        assert len({event_id for event_id, _ in rows}) == 19
        assert consumer.kernel.consumer.handled == 19
        # the batch was tried and rolled back (the ten events before the poison and the poison
        # ran), then every event alone, then the poison's redeliveries alone
        assert consumer.calls == 11 + 20 + (settings.nats.max_deliver - 1)

        batches = consumer.kernel.consumer.batches
        async with producer.transaction() as uow:
            for n in range(20, 30):
                await uow.emit(ProbeSent(n=n), subject=f"case-{n}")

        async def ten_more() -> bool:
            return len(await consumer.rows()) == 29

        await eventually(ten_more)
        assert consumer.kernel.consumer.batches > batches
        assert consumer.kernel.consumer.dead_lettered == 1
    finally:
        await nc.close()
        await consumer.kernel.stop(app)
        await producer.stop(app)


async def test_malformed_envelope_goes_to_dead_letters_without_retries(
    pair: tuple[Kernel, Consumer], settings: Settings
) -> None:
    _, consumer = pair
    nc = await nats.connect(settings.nats.url)
    await nc.jetstream().publish(ProbeSent.__contract__.subject, b'{"not": "a cloudevent"}')

    async def dead_lettered() -> bool:
        return len(await list_dead_letters(nc, "eakte")) == 1

    await eventually(dead_lettered)
    (letter,) = await list_dead_letters(nc, "eakte")
    assert letter.deliveries == 1 and "Object missing required field" in letter.error
    await nc.close()
    assert consumer.calls == 0


async def test_a_batch_that_cannot_be_finished_does_not_stop_the_consumer(
    pair: tuple[Kernel, Consumer], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NATS refuses the dead letter of a malformed message once (it is away for a moment):
    the consumer logs it, the message comes again after ack_wait, and events after it are
    still applied."""
    producer, consumer = pair
    real = consumer.kernel.consumer._dead_letter
    refused: list[int] = []

    async def away_once(raw: Any, exc: BaseException, deliveries: int) -> None:
        if not refused:
            refused.append(deliveries)
            raise nats.errors.NoRespondersError
        await real(raw, exc, deliveries)

    monkeypatch.setattr(consumer.kernel.consumer, "_dead_letter", away_once)
    nc = await nats.connect(settings.nats.url)
    await nc.jetstream().publish(ProbeSent.__contract__.subject, b"{not a cloudevent")
    async with producer.transaction() as uow:
        sent = await uow.emit(ProbeSent(n=31), subject=str(uuid.uuid4()))

    async def applied_and_parked() -> bool:
        return (sent.id, 31) in await consumer.rows() and len(await list_dead_letters(nc, "eakte")) == 1

    await eventually(applied_and_parked, timeout=60)
    await nc.close()
    assert refused == [1]


async def test_spans_of_a_case_carry_its_id_across_producer_and_consumer(
    pair: tuple[Kernel, Consumer], settings: Settings
) -> None:
    from rathaus.platform.runtime.trace import read_spans

    producer, consumer = pair
    case_id = f"case-{uuid.uuid4()}"
    from rathaus.platform.kernel.telemetry import case_context

    with case_context(case_id), producer.tracer.start_as_current_span("portal submit"):
        async with producer.transaction() as uow:
            await uow.emit(ProbeSent(n=5), subject=case_id)

    async def applied() -> bool:
        return len(await consumer.rows()) == 1

    await eventually(applied)

    async def spans_written() -> bool:
        producer.provider.force_flush()
        consumer.kernel.provider.force_flush()
        services = {
            s.service for s in read_spans(settings.data_dir) if s.attributes.get("rathaus.case_id") == case_id
        }
        return {"rathaus-portal", "rathaus-eakte"} <= services

    await eventually(spans_written)
    names = {s.name for s in read_spans(settings.data_dir) if s.attributes.get("rathaus.case_id") == case_id}
    assert "portal submit" in names
    assert "eakte handle de.rathaus.platform.probe.sent.v1" in names


async def test_a_handlers_own_integrity_error_is_retried_not_taken_for_a_duplicate(
    pair: tuple[Kernel, Consumer],
) -> None:
    producer, consumer = pair
    async with consumer.kernel.db.session() as s:
        await s.execute(applied.insert().values(event_id="taken", n=0))
    consumer.conflicts = 2  # the first two deliveries fail on a duplicate key of the handler's table
    async with producer.transaction() as uow:
        sent = await uow.emit(ProbeSent(n=3), subject=str(uuid.uuid4()))

    async def applied_after_retries() -> bool:
        return (sent.id, 3) in await consumer.rows()

    await eventually(applied_after_retries)
    assert consumer.calls == 3 and consumer.kernel.consumer.dead_lettered == 0


async def test_a_handler_whose_dependency_is_down_is_retried_past_max_deliver_never_parked(
    pair: tuple[Kernel, Consumer], settings: Settings
) -> None:
    """An outage (Temporal restarting) is not the message's fault: it must not use up the
    retries a poison message gets and park a good event of a case in the dead letters."""
    producer, consumer = pair
    consumer.unavailable = settings.nats.max_deliver + 1
    async with producer.transaction() as uow:
        sent = await uow.emit(ProbeSent(n=21), subject=str(uuid.uuid4()))

    async def applied_once_it_is_back() -> bool:
        return (sent.id, 21) in await consumer.rows()

    await eventually(applied_once_it_is_back, timeout=60)
    assert consumer.calls == settings.nats.max_deliver + 2
    assert consumer.kernel.consumer.dead_lettered == 0


async def test_a_poison_message_delivered_again_is_parked_once(
    pair: tuple[Kernel, Consumer], settings: Settings
) -> None:
    """A consumer that stood still past ack_wait (SIGSTOP, a long GC pause) gets the message it
    was parking once more; the dead-letter stream keeps one entry for it. A failed replay that
    happens to have the same sequence number in the dead-letter stream is an entry of its own."""
    _, consumer = pair
    meta = SimpleNamespace(stream=stream_name("platform"), sequence=SimpleNamespace(stream=41))
    raw = SimpleNamespace(
        subject=ProbeSent.__contract__.subject, data=b"{not json", metadata=meta, ack=AsyncMock()
    )
    for deliveries in (1, 2):
        await consumer.kernel.consumer._dead_letter(raw, ValueError("undecodable"), deliveries)
    replayed = SimpleNamespace(
        subject=f"rathaus.replay.eakte.{ProbeSent.__contract__.subject}",
        data=b"{not json",
        metadata=SimpleNamespace(stream="RATHAUS_DEADLETTER", sequence=SimpleNamespace(stream=41)),
        ack=AsyncMock(),
    )
    await consumer.kernel.consumer._dead_letter(replayed, ValueError("undecodable"), 1)
    nc = await nats.connect(settings.nats.url)
    letters = await list_dead_letters(nc, "eakte")
    await nc.close()
    assert [dl.deliveries for dl in letters] == [1, 1]  # the original once, its failed replay once


async def test_a_publish_that_meets_no_stream_leader_is_tried_again_with_the_same_message_id(
    settings: Settings,
) -> None:
    """While a stream has no leader (an election after a node died; here: the stream is
    away) the kernel keeps publishing for ``nats.publish_retry_seconds`` instead of failing
    over to the relay's slower backoff; the same Nats-Msg-Id keeps it once in the stream."""
    producer = Kernel("portal", settings)
    app = ModuleApp()
    await producer.start(app)
    nc = await nats.connect(settings.nats.url)
    js = nc.jetstream()
    try:
        await js.delete_stream(stream_name("platform"))
        async with producer.transaction() as uow:
            sent = await uow.emit(ProbeSent(n=1), subject=str(uuid.uuid4()))

        async def retrying() -> bool:
            return producer.publish_retries >= 2

        await eventually(retrying)
        await ensure_streams(js)  # the leader is back

        async def stored() -> bool:
            return (await js.stream_info(stream_name("platform"))).state.messages == 1

        await eventually(stored)
        msg = await js.get_last_msg(stream_name("platform"), sent.contract.subject)
        assert msg.headers is not None and msg.headers["Nats-Msg-Id"] == sent.id
        async with producer.db.read() as s:
            row = (
                (await s.execute(sa.select(outbox_table).where(outbox_table.c.event_id == sent.id)))
                .mappings()
                .one()
            )
        assert row["attempts"] == 1  # one claim by the relay: the retries happened inside the publish
        assert (await producer.healthy())["publish_retries"] == producer.publish_retries
    finally:
        await nc.close()
        await producer.stop(app)
