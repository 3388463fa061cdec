"""SQLite for SQLAlchemy's asyncio engine without a thread per connection.

aiosqlite runs every call of a connection on a thread of its own: a statement through
SQLAlchemy is four calls (cursor, execute, fetchall, close), each a hand-over to that
thread and back through the event loop's self-pipe, and with a pool of connections the
threads fight the event loop for the GIL (strace on the portal under the booking
benchmark: 52,000 futex calls in 8 s, half the process's time in the kernel). SQLite
itself is a library that answers from the page cache in microseconds; in WAL mode with
``synchronous=NORMAL`` a commit appends to the log without waiting for the disk. Run on
the event loop's own thread, the same work costs a function call: the booking benchmark
went from 43 to 77 bookings/s with nothing else changed (BENCHMARKS.md, 2026-11-30).

What this gives up, and why that is acceptable here:

- A statement holds the event loop while SQLite works. Statements in Rathaus are keyed
  look-ups and short ranges on indexed columns; a slow query would show as a slow request
  either way, now also as a stalled loop. Searches over large tables belong in an index of
  their own (PostgreSQL in production, where the driver is asyncpg, not this).
- Waiting for a lock held by another process blocks the loop for that time. Within one
  process writers queue on :meth:`Database.session`'s asyncio lock and readers never wait
  in WAL mode; a second process writing the same file (a command-line tool, a migration)
  holds it for the few milliseconds of its transaction. Replicas of one module on one
  SQLite file are not a supported shape: they need PostgreSQL.

The class keeps aiosqlite's interface (SQLAlchemy's ``sqlite+aiosqlite`` dialect talks to
it unchanged) and replaces only the queue to the worker thread by a direct call.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiosqlite
from aiosqlite.core import set_exception, set_result


class _DirectQueue:
    """Stands in for aiosqlite's queue to its worker thread: runs the work at once.

    SQLAlchemy's dialect puts work on that queue itself (to set the isolation level), so
    the queue, not only :meth:`InlineConnection._execute`, has to answer in place."""

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:  # handed to the awaiting caller, as the thread does
            if future is not None:
                set_exception(future, error)
        else:
            if future is not None:
                set_result(future, result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the caller's thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _DirectQueue()  # type: ignore[assignment]

    def __await__(self) -> Any:  # no worker thread to start
        return self._connect().__await__()

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def inline_creator(database: str | None, *, timeout: float) -> Callable[[], Awaitable[InlineConnection]]:
    """``async_creator`` for :func:`sqlalchemy.ext.asyncio.create_async_engine`."""
    # the pool may close a connection from another thread (at interpreter exit)
    connector = partial(sqlite3.connect, database or ":memory:", timeout=timeout, check_same_thread=False)

    async def connect() -> InlineConnection:
        return await InlineConnection(connector)

    return connect


def inline_sqlite3(adapted: Any) -> sqlite3.Connection | None:
    """The sqlite3 connection under SQLAlchemy's adapter when it is one of ours (inline):
    calls on it run on this thread like any other of the connection; None otherwise."""
    connection = getattr(adapted, "_connection", None)
    if isinstance(connection, InlineConnection) and connection._connection is not None:
        return connection._connection
    return None
