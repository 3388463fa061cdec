"""The relay's claim on the outbox (SQLite, and PostgreSQL in the PostgreSQL pass): oldest
first, a case's events strictly in order, a leased or waiting event holding back the later
events of its case and no other."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from txoutbox import OutboxMessage

from rathaus.platform.bench.bus import application  # the bus benchmark's sample event
from rathaus.platform.kernel import Settings
from rathaus.platform.kernel.db import Database
from rathaus.platform.kernel.outbox import SqlAlchemyOutboxStorage, outbox_table, stage

LEASE = timedelta(seconds=30)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url("portal"), module="portal")
    await database.migrate(None)
    yield database
    await database.dispose()


async def staged(db: Database, *cases: str) -> list[str]:
    ids = []
    for case in cases:
        async with db.session() as session:
            ids.append((await stage(session, application(case), subject=case)).id)
    return ids


def event_ids(claimed: Sequence[OutboxMessage]) -> list[str]:
    return [m.headers["Nats-Msg-Id"] for m in claimed]


async def test_claims_oldest_first_up_to_the_batch_and_leases_them(db: Database) -> None:
    storage = SqlAlchemyOutboxStorage(db)
    ids = await staged(db, "a", "b", "c")
    first = await storage.claim(batch_size=2, lease=LEASE, worker_id="w1")
    assert event_ids(first) == ids[:2] and [m.attempts for m in first] == [1, 1]
    # leased: another relay gets only what is left, and then nothing
    assert event_ids(await storage.claim(batch_size=10, lease=LEASE, worker_id="w2")) == ids[2:]
    assert await storage.claim(batch_size=10, lease=LEASE, worker_id="w2") == []
    await storage.ack([m.id for m in first], worker_id="w2")  # not its lease: nothing changes
    await storage.ack([m.id for m in first], worker_id="w1")
    assert (await storage.stats()).pending == 1


async def test_an_event_waiting_to_be_tried_again_holds_back_its_case_only(db: Database) -> None:
    storage = SqlAlchemyOutboxStorage(db)
    a1, b1, a2 = await staged(db, "a", "b", "a")
    claimed = await storage.claim(batch_size=1, lease=LEASE, worker_id="w1")
    assert event_ids(claimed) == [a1]
    # a1 leased: a2 of the same case waits, b1 goes
    assert event_ids(await storage.claim(batch_size=10, lease=LEASE, worker_id="w1")) == [b1]
    later = datetime.now(UTC) + timedelta(minutes=5)
    await storage.nack(claimed[0].id, worker_id="w1", error="kein Stream", retry_at=later)
    # a1 waits for its retry: still nothing of case a
    assert await storage.claim(batch_size=10, lease=LEASE, worker_id="w1") == []
    async with db.session() as session:  # its time has come
        await session.execute(outbox_table.update().values(retry_at=time.time() - 1))
    assert event_ids(await storage.claim(batch_size=10, lease=LEASE, worker_id="w1")) == [a1, a2]
