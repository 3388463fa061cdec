"""How a SQLite transaction of the kernel begins (the BEGIN goes straight to sqlite3 on the
loop's thread): a write session holds the write lock from its start, a read session takes
none, and a lock not given within the busy timeout surfaces as SQLAlchemy's error."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from rathaus.platform.kernel.db import Database


@pytest.fixture
def other(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A second writer on the same file, as a command-line tool would be."""
    connection = sqlite3.connect(tmp_path / "x.db", timeout=0, isolation_level=None)
    yield connection
    connection.close()


def locked(connection: sqlite3.Connection) -> bool:
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        assert "locked" in str(error)
        return True
    connection.execute("ROLLBACK")
    return False


async def test_a_write_session_holds_the_lock_from_its_start_and_a_read_session_none(
    tmp_path: Path, other: sqlite3.Connection
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", module="x")
    try:
        async with db.session() as s:
            await s.execute(sa.text("CREATE TABLE t (n INTEGER)"))
        async with db.session() as s:
            await s.execute(sa.text("SELECT 1"))  # only reads, but the session began IMMEDIATE
            assert locked(other)
        assert not locked(other)
        async with db.read() as s:
            await s.execute(sa.text("SELECT count(*) FROM t"))
            assert not locked(other)  # a reader never stands in a writer's way
    finally:
        await db.dispose()


async def test_a_lock_not_given_in_time_is_sqlalchemys_operational_error(
    tmp_path: Path, other: sqlite3.Connection
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", module="x", busy_timeout=0.05)
    try:
        async with db.session() as s:
            await s.execute(sa.text("CREATE TABLE t (n INTEGER)"))
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="database is locked"):
            async with db.session() as s:
                await s.execute(sa.text("INSERT INTO t VALUES (1)"))
        other.execute("ROLLBACK")
        async with db.session() as s:  # the pool's connection is fine afterwards
            await s.execute(sa.text("INSERT INTO t VALUES (2)"))
        async with db.read() as s:
            assert (await s.execute(sa.text("SELECT n FROM t"))).scalars().all() == [2]
    finally:
        await db.dispose()
