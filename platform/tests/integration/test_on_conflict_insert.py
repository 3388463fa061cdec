"""The kernel's cached INSERT … ON CONFLICT (SQLite here; PostgreSQL with
RATHAUS_TEST_DATABASE=postgresql): the same rows and answers as SQLAlchemy's own statement,
compiled once per shape, and bad values refused before anything is written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.sql import compiler

from rathaus.platform.kernel import Settings
from rathaus.platform.kernel.db import Database, OnConflictInsert

metadata = sa.MetaData()
hits = sa.Table(
    "test_hits",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("window", sa.Integer, primary_key=True),
    sa.Column("hits", sa.Integer, nullable=False),
    sa.Column("note", sa.String(20)),
)
COUNT = OnConflictInsert(
    hits,
    index_elements=[hits.c.key, hits.c.window],
    set_=lambda stmt: {"hits": hits.c.hits + 1},
    returning=[hits.c.hits],
)
ONCE = OnConflictInsert(hits, returning=[hits.c.key])
QUIET = OnConflictInsert(hits)  # no RETURNING: the row count tells


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url("portal"), module="portal")
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield database
    await database.dispose()


async def rows(db: Database) -> list[tuple[str, int, int, str | None]]:
    async with db.read() as s:
        return [tuple(r) for r in await s.execute(sa.select(hits).order_by(hits.c.key, hits.c.window))]


async def test_do_update_counts_and_returns_the_new_count(db: Database) -> None:
    answers = []
    for _ in range(3):
        async with db.session() as s:
            result = await COUNT.execute(s, {"key": "ip:1", "window": 7, "hits": 1})
            answers.append(result.scalar_one())
    async with db.session() as s:
        answers.append((await COUNT.execute(s, {"key": "ip:1", "window": 8, "hits": 1})).scalar_one())
    assert answers == [1, 2, 3, 1]
    assert await rows(db) == [("ip:1", 7, 3, None), ("ip:1", 8, 1, None)]


async def test_do_nothing_returns_only_the_new_rows_of_a_batch_and_counts_them(db: Database) -> None:
    async with db.session() as s:
        first = await QUIET.execute(s, {"key": "a", "window": 1, "hits": 1, "note": "erste"})
        assert first.rowcount == 1
    async with db.session() as s:
        assert (await QUIET.execute(s, {"key": "a", "window": 1, "hits": 5, "note": "x"})).rowcount == 0
    async with db.session() as s:
        again = await ONCE.execute(
            s,
            {"key": "a", "window": 1, "hits": 9, "note": "zweite"},
            {"key": "b", "window": 1, "hits": 2, "note": None},
            {"key": "c", "window": 1, "hits": 3, "note": "ä ß"},
        )
        assert sorted(again.scalars().all()) == ["b", "c"]
    assert await rows(db) == [("a", 1, 1, "erste"), ("b", 1, 2, None), ("c", 1, 3, "ä ß")]


async def test_each_shape_is_compiled_once(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = []
    original = compiler.SQLCompiler.__init__

    def counting(self: compiler.SQLCompiler, *args: object, **kwargs: object) -> None:
        compiled.append(type(self.statement).__name__ if hasattr(self, "statement") else "")
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(compiler.SQLCompiler, "__init__", counting)
    statement = OnConflictInsert(hits, returning=[hits.c.key])  # a fresh cache
    for n in range(6):
        async with db.session() as s:
            await statement.execute(s, {"key": f"k{n}", "window": 1, "hits": 1, "note": None})
    one_row = len(compiled)
    for n in range(3):
        async with db.session() as s:
            await statement.execute(
                s, *({"key": f"m{n}-{i}", "window": 1, "hits": 1, "note": None} for i in range(2))
            )
    two_rows = len(compiled) - one_row
    assert one_row == 1 and two_rows == 1  # once per shape, however often it runs
    assert len(await rows(db)) == 6 + 3 * 2


async def test_values_needing_conversion_and_uneven_rows_are_refused(db: Database) -> None:
    async with db.session() as s:
        with pytest.raises(TypeError, match="window: bool"):
            await COUNT.execute(s, {"key": "x", "window": True, "hits": 1})
        with pytest.raises(TypeError, match="note: datetime"):
            await ONCE.execute(s, {"key": "x", "window": 1, "hits": 1, "note": datetime.now(UTC)})
        with pytest.raises(ValueError, match="keys"):
            await ONCE.execute(s, {"key": "x", "window": 1, "hits": 1}, {"key": "y", "hits": 1, "window": 1})
        with pytest.raises(ValueError, match="no rows"):
            await ONCE.execute(s)
    assert await rows(db) == []
