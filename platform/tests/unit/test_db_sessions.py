"""SQLite sessions: writers queue on one lock; reads take a snapshot beside the writer."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from rathaus.platform.kernel.db import Database

ROWS = sa.Table("rows", sa.MetaData(), sa.Column("n", sa.Integer, primary_key=True))


async def test_reads_do_not_wait_for_the_writer_and_cannot_write(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite'}", module="m")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(ROWS.metadata.create_all)
        async with db.session() as s:
            await s.execute(ROWS.insert().values(n=1))
        writer_inside, reader_done = asyncio.Event(), asyncio.Event()

        async def long_writer() -> None:
            async with db.session() as s:
                await s.execute(ROWS.insert().values(n=2))
                writer_inside.set()
                await reader_done.wait()  # holds the write lock until the read is done

        task = asyncio.create_task(long_writer())
        await writer_inside.wait()
        async with db.read() as s:  # would wait forever if reads queued behind the writer
            seen = (await s.execute(sa.select(ROWS.c.n))).scalars().all()
        reader_done.set()
        await task
        assert seen == [1]  # the snapshot: the writer had not committed yet
        with pytest.raises(OperationalError, match="readonly"):
            async with db.read() as s:
                await s.execute(ROWS.insert().values(n=3))

        # writers of one process queue and all get through
        async def write(n: int) -> None:
            async with db.session() as s:
                await s.execute(ROWS.insert().values(n=n))

        await asyncio.gather(*(write(n) for n in range(10, 60)))
        async with db.read() as s:
            assert (await s.execute(sa.select(sa.func.count()).select_from(ROWS))).scalar_one() == 52
    finally:
        await db.dispose()


async def test_sqlite_runs_on_the_event_loops_thread_and_errors_reach_the_caller(tmp_path: Path) -> None:
    """No worker thread per connection (kernel/sqlite_inline): the pool's connections add
    no threads, and SQLite's errors arrive as SQLAlchemy's, as they did through aiosqlite."""
    threads = threading.active_count()
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite'}", module="m")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(ROWS.metadata.create_all)

        async def write(n: int) -> None:
            async with db.session() as s:
                await s.execute(ROWS.insert().values(n=n))

        async def read() -> int:
            async with db.read() as s:
                return (await s.execute(sa.select(sa.func.count()).select_from(ROWS))).scalar_one()

        await asyncio.gather(*(write(n) for n in range(20)), *(read() for _ in range(20)))
        assert threading.active_count() == threads
        with pytest.raises(IntegrityError):
            await write(1)
        assert await read() == 20  # the failed transaction left nothing behind
    finally:
        await db.dispose()
    assert threading.active_count() == threads
