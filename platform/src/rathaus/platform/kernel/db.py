"""One database per module: SQLAlchemy 2 async, SQLite with WAL by default, PostgreSQL
in production; Alembic migrations per module, applied on start."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, MetaData, bindparam, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from rathaus.platform.kernel.sqlite_inline import inline_creator, inline_sqlite3

KERNEL_MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    """A module's database: engine, sessions and migrations."""

    def __init__(
        self,
        url: str,
        *,
        module: str,
        power_safe: bool = True,
        pool_size: int = 5,
        max_overflow: int = 10,
        busy_timeout: float = 30.0,
    ) -> None:
        self.module = module
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite and self.url.database:
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        # SQLite runs on the event loop's thread (see sqlite_inline for why and what it costs)
        inline = (
            {"async_creator": inline_creator(self.url.database, timeout=busy_timeout)}
            if self.is_sqlite
            else {}
        )
        if self.url.drivername == "postgresql+asyncpg":
            inline = {"async_creator": postgres_connector(self.url)}
        # PostgreSQL: a pool per process sized by settings (database_pool_size, _max_overflow)
        pool: dict[str, Any] = (
            {} if self.is_sqlite else {"pool_size": pool_size, "max_overflow": max_overflow}
        )
        self.engine: AsyncEngine = create_async_engine(
            self.url,
            pool_pre_ping=not self.is_sqlite,
            hide_parameters=True,  # an error in a log must not quote a citizen's data
            **inline,
            **pool,
        )
        if self.is_sqlite:
            _sqlite_pragmas(self.engine, busy_timeout=busy_timeout)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # reads: on SQLite a pool of its own whose transactions begin deferred, so that in
        # WAL mode they read a snapshot next to the one writer instead of queueing for it
        self.read_engine = self.engine
        if self.is_sqlite:
            self.read_engine = create_async_engine(self.url, hide_parameters=True, **inline)
            _sqlite_pragmas(self.read_engine, begin="BEGIN", busy_timeout=busy_timeout)
        self.read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        # SQLite commits with synchronous=NORMAL (no fsync of its own); a power-safe
        # database fsyncs its write-ahead log after each commit, once for all waiting ones
        self.wal_sync: WalSync | None = None
        if self.is_sqlite and self.url.database and power_safe:
            self.wal_sync = WalSync(Path(f"{self.url.database}-wal"))

    @asynccontextmanager
    async def session(self, *, durable: bool = True) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on error.

        On a power-safe SQLite database the block returns once the commit is on disk
        (:class:`WalSync`); ``durable=False`` for bookkeeping that may be lost in a power
        loss because it is redone (the outbox relay's leases and sent marks).

        On SQLite every transaction takes the write lock (BEGIN IMMEDIATE), so only one runs
        at a time anyway. Within a process they queue on an asyncio lock, which hands over
        at once; left to SQLite's busy handler, a waiting transaction sleeps in steps of up
        to 100 ms, and a consumer handling 32 messages at a time spent most of its time
        asleep (bus benchmark: about 90 instead of several hundred events per second).
        Other processes on the same file still wait through the busy timeout.
        """
        if not self.is_sqlite:
            async with self.sessions() as session, session.begin():
                yield session
            return
        async with self._writer_lock(), self.sessions() as session, session.begin():
            yield session
        if durable and self.wal_sync is not None:
            await self.wal_sync()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading only: a consistent snapshot that never waits for writers.

        Writing in it fails on SQLite (``attempt to write a readonly database``): use
        :meth:`session` for anything that changes data.
        """
        async with self.read_sessions() as session, session.begin():
            yield session

    def _writer_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock_loop is not loop:  # a lock belongs to one event loop
            self._lock, self._lock_loop = asyncio.Lock(), loop
        assert self._lock is not None
        return self._lock

    async def migrate(self, migrations: Path | None, metadata: MetaData | None = None) -> None:
        """Apply the kernel's migrations, then the module's, up to head."""
        await self._upgrade(KERNEL_MIGRATIONS, "alembic_version_kernel", None)
        if migrations is not None:
            await self._upgrade(migrations, "alembic_version", metadata)

    async def _upgrade(self, location: Path, version_table: str, metadata: MetaData | None) -> None:
        def run(connection: Connection) -> None:
            config = alembic_config(location, version_table, metadata)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                # replicas starting together: the first migrates, the others wait here until
                # it commits, then find the schema at head (on SQLite, BEGIN IMMEDIATE does it)
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                    {"key": f"rathaus migrations {self.module} {version_table}"},
                )
            await conn.run_sync(run)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


class WalSync:
    """Group commit for SQLite: the write-ahead log fsynced once for every commit waiting.

    With ``synchronous=FULL`` SQLite fsyncs the log in each COMMIT, on the event loop's
    thread: about 0.3 ms on this machine's disk, one after another. Here a commit takes
    ``synchronous=NORMAL``'s path (the frames appended, no fsync), then waits for the next
    fsync of the log, which runs in a thread and covers every commit made before it began;
    the commits arriving meanwhile share the following one. A commit is thus on disk
    before its caller goes on (the answer to a citizen, the ack of an event), as with FULL,
    while the loop keeps serving and one fsync serves many commits. Linux flushes a file's
    pages whichever descriptor wrote them, so the log is opened by name for each fsync.
    """

    def __init__(self, wal: Path) -> None:
        self.wal = wal
        self._waiting: list[asyncio.Future[None]] = []
        self._running = False
        self._task: asyncio.Task[None] | None = None
        self.syncs = 0  # fsyncs done, against the commits that waited for them
        self.commits = 0

    async def __call__(self) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        self.commits += 1
        if not self._running:
            self._running = True
            self._task = asyncio.create_task(self._run())  # ends when nobody waits; errors go to the waiters
        await future

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await asyncio.to_thread(self._fsync)
                except Exception as error:  # a disk failing: every waiting commit hears it
                    for future in batch:
                        if not future.done():
                            future.set_exception(error)
                else:
                    self.syncs += 1
                    for future in batch:
                        if not future.done():
                            future.set_result(None)
        finally:
            self._running = False

    def _fsync(self) -> None:
        try:
            fd = os.open(self.wal, os.O_RDONLY)
        except FileNotFoundError:  # no log: what was committed was checkpointed (and synced)
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def postgres_connector(url: URL) -> Callable[[], Awaitable[Any]]:
    """asyncpg's connect for the engine's pool, creating the module's database when the
    server says it does not exist (a first start: ``rathaus up --postgres``, a fresh test
    database). Through the server's ``postgres`` database; the role needs CREATEDB. Two
    processes creating it at once are fine."""
    import asyncpg  # type: ignore[import-untyped]

    _, params = url.get_dialect()().create_connect_args(url)

    async def connect() -> Any:
        try:
            return await asyncpg.connect(**params)
        except asyncpg.InvalidCatalogNameError:
            server = await asyncpg.connect(**{**params, "database": "postgres"})
            try:
                name = str(params["database"]).replace('"', '""')
                await server.execute(f'CREATE DATABASE "{name}"')
            except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                # another process created it meanwhile (two replicas starting together: the
                # loser of that race meets the catalog's unique index, not "already exists")
                pass
            finally:
                await server.close()
            return await asyncpg.connect(**params)

    return connect


async def postgres_database_is_new(url: str) -> bool:
    """True when a module's PostgreSQL database does not exist yet or holds no migrated
    schema (no Alembic version table): a first start, where the demo city may be seeded."""
    import asyncpg

    parsed = make_url(url)
    _, params = parsed.get_dialect()().create_connect_args(parsed)
    try:
        conn = await asyncpg.connect(**params)
    except asyncpg.InvalidCatalogNameError:
        return True
    try:
        found = await conn.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
        return not found
    finally:
        await conn.close()


async def one_appender(session: AsyncSession, table: str) -> None:
    """Let one transaction at a time append to ``table`` until it ends: for a hash chain,
    whose next entry is computed from the last. SQLite runs one writer at a time anyway; on
    PostgreSQL two transactions would both read the same last entry and fork the chain. A
    table lock that conflicts only with itself and with writers of that table: readers go
    on, and the lock is released at commit or rollback."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE'))


async def one_case_at_a_time(session: AsyncSession, subjects: Iterable[str | None]) -> None:
    """Let one transaction at a time apply events of each of these cases (subjects) until it
    ends. The events of one case come on several streams and are applied side by side: a
    document routed to a case and the case's opening each check for the other ("file it if
    the case is there", "file what waits for the case"); under PostgreSQL's read committed
    both see nothing of the other and the document is never filed. SQLite runs one writer
    at a time anyway. Advisory locks, taken before anything else of the transaction and in
    the order of their keys, so two batches never wait for each other crosswise; released
    at commit or rollback."""
    keys = sorted({s for s in subjects if s})
    if keys and session.bind.dialect.name == "postgresql":
        await session.execute(
            text(
                "SELECT count(pg_advisory_xact_lock(k)) FROM "
                "(SELECT DISTINCT hashtext('rathaus case ' || s) AS k FROM unnest(CAST(:keys AS text[])) AS s "
                "ORDER BY k) AS ordered"
            ),
            {"keys": keys},
        )


def dialect_insert(where: AsyncSession | Database) -> Any:
    """``insert`` of the session's (or database's) dialect, SQLite or PostgreSQL: the one
    that offers ``on_conflict_do_nothing`` and ``returning`` for it."""
    dialect = ("sqlite" if where.is_sqlite else "postgresql") if isinstance(where, Database) else None
    return dialect_insert_for(dialect or where.bind.dialect.name)  # type: ignore[union-attr]


class OnConflictInsert:
    """``INSERT … ON CONFLICT`` into ``table``, compiled once per dialect and shape.

    SQLAlchemy 2.0 does not cache the SQLite and PostgreSQL dialects' ``Insert`` (their
    classes set ``inherit_cache = False``, the ON CONFLICT clauses have no cache key), so
    a statement built with :func:`dialect_insert` is compiled anew on every execution:
    0.2 ms for one row, about 1 ms for 32 (an event batch's processed ids, a booking's
    seat and rate count: BENCHMARKS.md, 2026-12-01). Here the statement is compiled once
    for each dialect, column set and number of rows, and run as the driver's SQL with
    positional parameters. No type conversion is applied to the values, so only ``str``,
    ``int``, ``float``, ``bytes`` and ``None`` are taken (a ``bool`` or a ``datetime`` is
    refused with ``TypeError``: convert it first).

    ``set_`` makes it ``DO UPDATE`` (a function of the dialect's statement returning the
    SET mapping, e.g. ``lambda stmt: {"hits": table.c.hits + 1}``); without it, ``DO
    NOTHING``. ``index_elements`` names the conflict target (required by ``DO UPDATE``).
    """

    _TYPES = (str, int, float, bytes, type(None))

    def __init__(
        self,
        table: Any,
        *,
        index_elements: Iterable[Any] | None = None,
        set_: Callable[[Any], dict[str, Any]] | None = None,
        returning: Iterable[Any] = (),
    ) -> None:
        self.table = table
        self.index_elements = list(index_elements) if index_elements is not None else None
        self.set_ = set_
        self.returning = list(returning)
        self._compiled: dict[tuple[str, tuple[str, ...], int], tuple[str, list[str], dict[str, Any]]] = {}

    def _statement(
        self, dialect: Any, keys: tuple[str, ...], rows: int
    ) -> tuple[str, list[str], dict[str, Any]]:
        key = (dialect.name, keys, rows)
        found = self._compiled.get(key)
        if found is None:
            insert = dialect_insert_for(dialect.name)
            stmt = insert(self.table).values([{k: bindparam(f"r{i}_{k}") for k in keys} for i in range(rows)])
            if self.set_ is not None:
                stmt = stmt.on_conflict_do_update(index_elements=self.index_elements, set_=self.set_(stmt))
            else:
                stmt = stmt.on_conflict_do_nothing(index_elements=self.index_elements)
            if self.returning:
                stmt = stmt.returning(*self.returning)
            compiled = stmt.compile(dialect=dialect)
            order = list(compiled.positiontup or ())
            if len(order) != len(compiled.params):  # a paramstyle with names: not one of ours
                raise RuntimeError(f"{dialect.name}: expected positional parameters")
            found = (str(compiled), order, dict(compiled.params))
            if len(self._compiled) < 256:  # shapes are few (a batch is at most a fetch long)
                self._compiled[key] = found
        return found

    async def execute(self, session: AsyncSession, *rows: dict[str, Any]) -> Any:
        """Insert ``rows`` (all with the same keys) in the session's transaction; the
        cursor result (``rowcount``, and the returned rows)."""
        if not rows:
            raise ValueError("no rows to insert")
        keys = tuple(rows[0])
        connection = await session.connection()
        sql, order, defaults = self._statement(connection.dialect, keys, len(rows))
        values = dict(defaults)
        for i, row in enumerate(rows):
            if tuple(row) != keys:
                raise ValueError(f"every row needs the keys {keys}, got {tuple(row)}")
            for k, v in row.items():
                if not isinstance(v, self._TYPES) or isinstance(v, bool):
                    raise TypeError(f"{k}: {type(v).__name__} is not passed unconverted; convert it first")
                values[f"r{i}_{k}"] = v
        return await connection.exec_driver_sql(sql, tuple(values[name] for name in order))


def dialect_insert_for(name: str) -> Any:
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def alembic_config(location: Path, version_table: str, metadata: MetaData | None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(location))
    config.attributes["version_table"] = version_table
    config.attributes["metadata"] = metadata
    return config


def _sqlite_pragmas(
    engine: AsyncEngine, begin: str = "BEGIN IMMEDIATE", *, busy_timeout: float = 30.0
) -> None:
    # pysqlite's own transaction handling is turned off so that every transaction starts
    # with BEGIN IMMEDIATE: writers queue on the lock instead of failing with "database
    # is locked" when a read transaction tries to upgrade.
    sync = engine.sync_engine

    @event.listens_for(sync, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        pragmas = [
            "journal_mode=WAL",
            "synchronous=NORMAL",
            f"busy_timeout={int(busy_timeout * 1000)}",
            "foreign_keys=ON",
        ]
        if begin != "BEGIN IMMEDIATE":
            pragmas.append("query_only=ON")  # the read pool cannot write by mistake
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(sync, "begin")
    def on_begin(conn: Any) -> None:
        # straight to sqlite3 on the loop's thread (the connection is inline): through
        # exec_driver_sql the BEGIN cost SQLAlchemy's whole execution path, a sixth of a
        # short read transaction; an error (a lock not given within the busy timeout)
        # comes wrapped as SQLAlchemy's, as it did
        raw = inline_sqlite3(conn.connection.dbapi_connection)
        if raw is None:
            conn.exec_driver_sql(begin)
            return
        try:
            raw.execute(begin)
        except sqlite3.Error as error:
            raise DBAPIError.instance(begin, None, error, sqlite3.Error) from error


def run_env(context: Any) -> None:
    """Body of every ``migrations/env.py``: run against the connection the kernel passes."""
    config = context.config
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=config.attributes.get("metadata"),
        version_table=config.attributes.get("version_table", "alembic_version"),
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


MigrationHook = Callable[[Connection], None]
