"""SQLite sessions: writers queue on one lock; reads take a snapshot beside the writer."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from rathaus.platform.kernel.db import Database
from rathaus.platform.testing import eventually

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
    no threads, and SQLite's errors arrive as SQLAlchemy's, as they did through aiosqlite.
    (A power-safe database fsyncs in the loop's executor: one thread, not one per connection.)"""
    threads = threading.active_count()
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite'}", module="m", power_safe=False)
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


async def test_a_power_safe_commit_returns_after_an_fsync_that_many_commits_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group commit (db.WalSync): a commit is on disk before its caller goes on; the commits
    made while one fsync runs share the next one; bookkeeping with durable=False does not wait."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite'}", module="m")
    wal = db.wal_sync
    assert wal is not None and wal.wal == tmp_path / "m.sqlite-wal"
    fsynced: list[int] = []
    gate = threading.Event()
    real = wal._fsync

    def slow_fsync() -> None:
        gate.wait(10)  # the disk takes its time
        real()
        fsynced.append(1)

    monkeypatch.setattr(wal, "_fsync", slow_fsync)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(ROWS.metadata.create_all)

        async def write(n: int) -> None:
            async with db.session() as s:
                await s.execute(ROWS.insert().values(n=n))

        first = asyncio.create_task(write(1))

        async def its_fsync_begun() -> bool:
            return wal._running and not wal._waiting

        await eventually(its_fsync_begun, interval=0.001)
        others = [asyncio.create_task(write(n)) for n in range(2, 11)]

        async def nine_committed_and_waiting_for_the_disk() -> bool:
            return len(wal._waiting) == 9

        await eventually(nine_committed_and_waiting_for_the_disk, interval=0.001)
        assert not first.done() and not any(t.done() for t in others)
        async with db.session(durable=False) as s:  # the relay's leases: no wait
            await s.execute(ROWS.insert().values(n=99))
        gate.set()
        await asyncio.gather(first, *others)
        assert wal.commits == 10 and wal.syncs == 2 and len(fsynced) == 2
        async with db.read() as s:
            assert (await s.execute(sa.select(sa.func.count()).select_from(ROWS))).scalar_one() == 11
    finally:
        gate.set()
        await db.dispose()


def test_open_data_alone_skips_the_fsync_by_default() -> None:
    from rathaus.platform.kernel.settings import MODULE_NAMES, Settings

    settings = Settings(seed_demo=False)
    safe = {m: settings.sqlite_power_safe.get(m, True) for m in MODULE_NAMES}
    assert [m for m, s in safe.items() if not s] == ["opendata"]
