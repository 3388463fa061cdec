"""Events of one case applied side by side on PostgreSQL wait for each other.

A document routed to a case and the case's opening came on two streams and were applied
at once: each looked for the other, neither saw the other's uncommitted row, and the
document stayed unfiled (the E-Akte's Aussonderung fault test on PostgreSQL, 2 runs in 16).
The consumer now takes a per-case lock first (``db.one_case_at_a_time``): shown here on two
real transactions, and a third on another case that does not wait."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from rathaus.platform.kernel.db import Database, one_case_at_a_time
from rathaus.platform.testing import eventually


async def waiting_for_a_lock(db: Database) -> bool:
    async with db.session() as s:
        return (
            await s.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        ).scalar_one() > 0


async def test_a_second_transaction_of_the_same_case_waits_until_the_first_commits(postgres_url: str) -> None:
    db = Database(postgres_url, module="platform")
    order: list[str] = []
    try:
        async with db.session() as setup:
            await setup.execute(text("CREATE TABLE documents (case_id text, filed boolean)"))
            await setup.commit()

        first_has_lock, first_may_commit = asyncio.Event(), asyncio.Event()

        async def first() -> None:  # the document, its case not there yet: stored unfiled
            async with db.session() as s:
                await one_case_at_a_time(s, ["case-1"])
                first_has_lock.set()
                await s.execute(text("INSERT INTO documents VALUES ('case-1', false)"))
                await first_may_commit.wait()
                await s.commit()
                order.append("document stored")

        async def second() -> None:  # the case opened: files what waits for it
            async with db.session() as s:
                await one_case_at_a_time(s, ["case-2", None, "case-1"])
                waiting = await s.execute(text("UPDATE documents SET filed = true WHERE case_id = 'case-1'"))
                order.append(f"case opened, {waiting.rowcount} document filed")  # type: ignore[attr-defined]
                await s.commit()

        one = asyncio.create_task(first())
        await first_has_lock.wait()
        two = asyncio.create_task(second())
        await eventually(lambda: waiting_for_a_lock(db), timeout=10)  # blocked, not failed
        # another case goes on meanwhile
        async with db.session() as other:
            await one_case_at_a_time(other, ["case-3"])
            await other.commit()
        assert not two.done()
        first_may_commit.set()
        await asyncio.gather(one, two)
        assert order == ["document stored", "case opened, 1 document filed"]
        async with db.session() as s:
            assert (await s.execute(text("SELECT filed FROM documents"))).scalars().all() == [True]
    finally:
        await db.dispose()
