"""Pytest fixtures: real nats-server and Temporal dev server from the pip-shipped
binaries, on free ports in temporary directories, stopped afterwards.

Registered for every member by the root ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from rathaus.platform.kernel.settings import (
    MODULE_NAMES,
    NatsSettings,
    Settings,
    TemporalSettings,
    postgres_module_url,
)
from rathaus.platform.runtime.embedded import EmbeddedPlatform
from rathaus.platform.runtime.natscluster import NatsCluster
from rathaus.platform.runtime.processes import ChildProcess, free_port, nats_server, temporal_server


@dataclass
class RunningServer:
    url: str
    port: int
    process: ChildProcess
    data_dir: Path

    def restart(self) -> None:
        self.process.stop()
        self.process.start()

    def kill_and_start(self) -> None:
        self.process.kill()
        self.process.start()


@pytest.fixture
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("nats")
    port = free_port()
    process = nats_server(data_dir, port)
    process.start()
    try:
        yield RunningServer(f"nats://127.0.0.1:{port}", port, process, data_dir)
    finally:
        process.stop()


@pytest.fixture
def nats_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    """Three nats-server nodes on the loopback forming one JetStream cluster (routes
    between them, a store directory each), ready for R3 streams; stopped afterwards.
    ``nats_cluster.url`` is what ``nats.url`` takes; a test may kill, freeze and restart
    single nodes (``nats_cluster.nodes``, ``await nats_cluster.leader(stream)``)."""
    directory = tmp_path_factory.mktemp("nats-cluster")
    cluster = NatsCluster.on_loopback(
        directory, 3, ports=[free_port() for _ in range(3)], cluster_ports=[free_port() for _ in range(3)]
    )
    cluster.start()
    try:
        # the nodes elect a meta leader before JetStream's API answers (a few seconds)
        asyncio.run(eventually(cluster.jetstream_ready, timeout=60, interval=0.2))
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("temporal")
    port = free_port()
    process = temporal_server(data_dir, port, ui_port=None)
    process.start(timeout=120)
    try:
        yield RunningServer(f"127.0.0.1:{port}", port, process, data_dir)
    finally:
        process.stop()


def _postgres_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


# `RATHAUS_TEST_DATABASE=postgresql`: every module of every test on PostgreSQL (one
# throw-away cluster per pytest session, a fresh database per module and test or platform)
TEST_DATABASE_ENV = "RATHAUS_TEST_DATABASE"
# the session cluster's server URL, for the platforms the tests start (EmbeddedPlatform, the
# fault suite's Distributed): each asks for its own databases on it
TEST_POSTGRES_ENV = "RATHAUS_TEST_POSTGRES"


def on_postgres() -> bool:
    """Whether this test run puts every module on PostgreSQL."""
    choice = os.environ.get(TEST_DATABASE_ENV, "sqlite").lower()
    if choice not in ("sqlite", "postgresql"):
        raise pytest.UsageError(f"{TEST_DATABASE_ENV} is sqlite or postgresql, not {choice!r}")
    return choice == "postgresql"


class PostgresCluster:
    """A throw-away PostgreSQL cluster in a temporary directory, from the machine's binaries,
    as the postgres user when run as root (PostgreSQL refuses root); fsync off: a test's
    data need not survive a power loss. ``crash_safe``: a commit is written to the WAL
    before it returns (synchronous_commit on), so a crash of the server (``stop_server
    ("immediate")``) loses no acknowledged transaction, as on a production server; without
    it, the last few hundred milliseconds of commits may be lost in such a crash."""

    def __init__(self, *, crash_safe: bool = False) -> None:
        self.crash_safe = crash_safe
        binaries = [_postgres_binary(n) for n in ("initdb", "pg_ctl", "pg_isready", "psql")]
        if any(b is None for b in binaries):
            raise FileNotFoundError("no PostgreSQL binaries (initdb, pg_ctl, psql) on this machine")
        self.initdb, self.pg_ctl, self.pg_isready, self.psql = (str(b) for b in binaries)
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.dir = Path(tempfile.mkdtemp(prefix="rathaus-pg-"))
        self.port = free_port()
        self.server_url = f"postgresql+asyncpg://rathaus@127.0.0.1:{self.port}"
        self._names = 0

    def start(self) -> None:
        if self.as_user:
            shutil.chown(self.dir, "postgres")
        subprocess.run(  # noqa: S603 - the machine's PostgreSQL binaries
            [*self.as_user, self.initdb, "-D", str(self.dir / "db"), "-U", "rathaus", "--auth=trust"],
            check=True,
            capture_output=True,
        )
        self.start_server()

    def start_server(self) -> None:
        """Start the server on its (initialised) data directory; returns once it answers."""
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
            f" -c synchronous_commit={'on' if self.crash_safe else 'off'} -c full_page_writes=off"
            " -c max_connections=500"
        )
        subprocess.run([*self._ctl(), "-o", options, "start"], check=True, capture_output=True)  # noqa: S603
        deadline = time.monotonic() + 30
        while subprocess.run(  # noqa: S603
            [self.pg_isready, "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True, check=False
        ).returncode:
            assert time.monotonic() < deadline, (self.dir / "log").read_text()
            time.sleep(0.1)  # polling the server's readiness, not waiting for a result

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server, keeping its data: ``immediate`` is a crash (every connection cut,
        recovery from the WAL at the next start), ``fast`` an operator's restart."""
        subprocess.run([*self._ctl(), "-m", mode, "stop"], check=True, capture_output=True)  # noqa: S603

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            subprocess.run([*self._ctl(), "-m", "fast", "stop"], check=True, capture_output=True)  # noqa: S603
        shutil.rmtree(self.dir, ignore_errors=True)

    def _ctl(self) -> list[str]:
        return [*self.as_user, self.pg_ctl, "-D", str(self.dir / "db"), "-l", str(self.dir / "log"), "-w"]

    def unique_name(self, hint: str = "t") -> str:
        """A database name (or prefix of the modules' names) not used before in this session."""
        self._names += 1
        return f"{hint}{self._names}_{os.urandom(3).hex()}"

    def sql(self, *statements: str) -> None:
        """Run statements one by one (CREATE/DROP DATABASE cannot run in a transaction)."""
        commands = [arg for statement in statements for arg in ("-c", statement)]
        subprocess.run(  # noqa: S603 - the cluster's own psql
            [self.psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", "rathaus", "-d", "postgres",
             "-v", "ON_ERROR_STOP=1", "-q", *commands],
            check=True,
            capture_output=True,
        )  # fmt: skip

    def create_database(self, hint: str = "t") -> str:
        """A new empty database; its SQLAlchemy URL."""
        name = self.unique_name(hint)
        self.sql(f'CREATE DATABASE "{name}"')
        return f"{self.server_url}/{name}"

    def drop_databases(self, prefix: str) -> None:
        """Drop every database whose name starts with ``prefix`` (a test's or a platform's)."""
        pattern = prefix.replace("_", "\\_")
        with contextlib.suppress(subprocess.CalledProcessError):
            self.sql(
                "DO $$ DECLARE d text; BEGIN FOR d IN SELECT datname FROM pg_database "
                f"WHERE datname LIKE '{pattern}%' LOOP "
                "EXECUTE format('DROP DATABASE %I WITH (FORCE)', d); END LOOP; END $$"
            )


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One PostgreSQL cluster for the whole session (skipped where there are no binaries);
    with RATHAUS_TEST_DATABASE=postgresql its URL is in RATHAUS_TEST_POSTGRES for the
    platforms the tests start."""
    try:
        cluster = PostgresCluster()
    except FileNotFoundError as missing:
        if on_postgres():
            raise  # the PostgreSQL pass must not pass by skipping
        pytest.skip(str(missing))
    cluster.start()
    previous = os.environ.get(TEST_POSTGRES_ENV)
    if on_postgres():
        os.environ[TEST_POSTGRES_ENV] = cluster.server_url
    try:
        yield cluster
    finally:
        if previous is None:
            os.environ.pop(TEST_POSTGRES_ENV, None)
        cluster.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass leaves out the SQLite variants of tests that run on both
    (``params=["sqlite", "postgresql"]``): the SQLite pass has run them."""
    if not on_postgres():
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        (drop if "sqlite" in params.values() else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


REPORT = "rathaus report"  # the user property that carries a test's report to the summary


def report(capsys: pytest.CaptureFixture[str], text: str) -> None:
    """Show what a long test checked (the fault suites' counts) even when it passes: printed
    at once when the tests run in one process; on a pytest-xdist worker, whose output the
    controller drops, carried in the test's report and printed in the terminal summary."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        capsys.request.node.user_properties.append((REPORT, text))
        return
    with capsys.disabled():
        print("\n" + text)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    texts: dict[tuple[str, str], None] = {}
    for reports in terminalreporter.stats.values():
        for rep in reports:
            for name, value in getattr(rep, "user_properties", ()):
                if name == REPORT:
                    texts[(rep.nodeid, value)] = None
    if texts:
        terminalreporter.section("what the long tests checked")
        for nodeid, text in texts:
            terminalreporter.write_line(f"{nodeid}\n{text}")


@pytest.fixture(scope="session", autouse=True)
def _postgres_pass(request: pytest.FixtureRequest) -> None:
    """The PostgreSQL pass starts the session's cluster before any test needs it."""
    if on_postgres():
        request.getfixturevalue("postgres_cluster")


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the session's cluster; dropped afterwards."""
    url = postgres_cluster.create_database("u")
    yield url
    postgres_cluster.drop_databases(url.rsplit("/", 1)[1])


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, nats: RunningServer) -> Settings:
    """Settings for one test: its own data dir, the test's nats-server, SQLite files (or,
    with RATHAUS_TEST_DATABASE=postgresql, a fresh PostgreSQL database per module)."""
    settings = Settings(
        data_dir=tmp_path / "data",
        nats=NatsSettings(url=nats.url, port=nats.port, max_deliver=3, ack_wait_seconds=5),
        temporal=TemporalSettings(),
        seed_demo=False,
        secret_key="test-secret-key-test-secret-key-0000",  # noqa: S106 - a test key
    )
    if on_postgres():
        cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
        prefix = cluster.unique_name()
        settings.postgres = f"{cluster.server_url}/{prefix}"  # created on each module's start
        request.addfinalizer(lambda: cluster.drop_databases(f"{prefix}_"))
    return settings


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        yield db
    finally:
        db.close()


class ModuleDatabases:
    """Each module's own database, read by the checks: its SQLite file under
    ``<data_dir>/db``, or its database on the PostgreSQL server the platform was given
    (``postgres``, the PostgreSQL pass). Queries are written once, with ``?`` placeholders."""

    def __init__(self, data_dir: Path, postgres: str | None = None) -> None:
        self.data_dir = data_dir
        self.postgres = postgres

    async def rows(self, module: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.postgres is None:
            with read_only(self.data_dir / "db" / f"{module}.sqlite") as db:
                return [tuple(row) for row in db.execute(sql, tuple(params)).fetchall()]
        import asyncpg  # type: ignore[import-untyped]

        numbered = iter(range(1, sql.count("?") + 1))
        conn = await asyncpg.connect(self._dsn(module))
        try:
            records = await conn.fetch(re.sub(r"\?", lambda _: f"${next(numbered)}", sql), *params)
        finally:
            await conn.close()
        return [tuple(record.values()) for record in records]

    async def execute(self, module: str, sql: str, params: Sequence[Any] = ()) -> None:
        """A write, committed (a test's tampering or setting the stage)."""
        if self.postgres is None:
            with contextlib.closing(
                sqlite3.connect(self.data_dir / "db" / f"{module}.sqlite", timeout=30)
            ) as db:
                db.execute(sql, tuple(params))
                db.commit()
            return
        import asyncpg

        numbered = iter(range(1, sql.count("?") + 1))
        conn = await asyncpg.connect(self._dsn(module))
        try:
            await conn.execute(re.sub(r"\?", lambda _: f"${next(numbered)}", sql), *params)
        finally:
            await conn.close()

    def _dsn(self, module: str) -> str:
        assert self.postgres is not None
        url = make_url(postgres_module_url(self.postgres, module)).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    async def records(self, module: str, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts by column name."""
        if self.postgres is None:
            with read_only(self.data_dir / "db" / f"{module}.sqlite") as db:
                cursor = db.execute(sql, tuple(params))
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        import asyncpg

        conn = await asyncpg.connect(self._dsn(module))
        try:
            return [dict(record) for record in await conn.fetch(sql)]
        finally:
            await conn.close()

    async def one(self, module: str, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...]:
        """The first row (of an aggregate)."""
        return (await self.rows(module, sql, params))[0]


async def eventually(
    condition: Callable[[], Awaitable[bool]], timeout: float = 20.0, interval: float = 0.05
) -> None:
    """Wait for a condition (polling), never for a fixed time; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition {condition.__name__} not reached within {timeout}s")
        await asyncio.sleep(interval)


def running(platform: EmbeddedPlatform) -> Iterator[EmbeddedPlatform]:
    """Start ``platform`` for a fixture (``yield from running(...)``); killed afterwards if
    the test left it running."""
    platform.start()
    try:
        yield platform
    finally:
        if platform.proc is not None and platform.proc.poll() is None:
            platform.kill()


@pytest.fixture
def embedded_platform(tmp_path: Path) -> Iterator[EmbeddedPlatform]:
    yield from running(EmbeddedPlatform(tmp_path / "rathaus"))


@dataclass
class ReceivedEvent:
    subject: str
    headers: dict[str, str]
    raw: bytes

    def json(self) -> dict[str, Any]:
        import json

        data: dict[str, Any] = json.loads(self.raw)
        return data


class IntegratorClient:
    """An external nats-py client, logged in as a user, subscribed to ``rathaus.>``."""

    def __init__(self) -> None:
        self.events: list[ReceivedEvent] = []
        self.nc: Any = None

    async def connect(self, **options: Any) -> None:
        import nats as nats_py

        self.nc = await nats_py.connect(**options)

        async def collect(msg: Any) -> None:
            self.events.append(ReceivedEvent(msg.subject, dict(msg.headers or {}), msg.data))

        await self.nc.subscribe("rathaus.>", cb=collect)
        await self.nc.flush()

    async def close(self) -> None:
        if self.nc is not None:
            await self.nc.close()

    def for_case(self, case_id: str) -> list[dict[str, Any]]:
        return [e.json() for e in self.events if e.json().get("subject") == case_id]


MINIMAL_PROCEDURE = """
id = "{id}"
version = {version}
title = "{title}"
summary = "Eine Leistung für Tests."
lebenslagen = ["Test"]
unit = "{unit}"
aktenplan = "{aktenplan}"
{extra}

[decision]
{decision}

[template_texts]
granted = '{{% extends "_brief.html" %}}{{% block body %}}<h1>{title}</h1><p>Bewilligt.</p>{{% endblock %}}'
refused = '{{% extends "_brief.html" %}}{{% block body %}}<h1>{title}</h1><p>Abgelehnt.</p>{{% endblock %}}'

[open_data]
dataset = "{id}-stadtbezirk-monat"
title = "{title} nach Stadtbezirk und Monat"
summary = "Fallzahlen der Testleistung."

[[form]]
name = "angaben"
kind = "group"
label = "Angaben"

[[form]]
name = "betreff"
parent = "angaben"
label = "Betreff"
{form}
"""


def write_procedure(
    folder: Path,
    service_id: str = "testleistung",
    *,
    version: int = 1,
    title: str = "Testleistung beantragen",
    unit: str = "KVR-III/12",
    aktenplan: str = "523.11",
    decision: str = 'mode = "clerk"',
    extra: str = "",
    form: str = "",
) -> Path:
    """A small valid procedure file (services as data) in ``folder``: one page, one text
    field ``betreff``, inline templates; ``decision``, ``extra`` (top-level keys) and
    ``form`` (more ``[[form]]`` elements) as TOML text. Returns the file."""
    path = folder / service_id / f"v{version}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        MINIMAL_PROCEDURE.format(
            id=service_id,
            version=version,
            title=title,
            unit=unit,
            aktenplan=aktenplan,
            decision=decision,
            extra=extra,
            form=form,
        ),
        encoding="utf-8",
    )
    return path


class SmtpCollector:
    """An SMTP server's handler (aiosmtpd) that keeps every message and refuses one
    address for good (550), for tests of what a module mails."""

    REFUSED = "gibt-es-nicht@example.org"

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address == self.REFUSED:
            return "550 5.1.1 Unbekannter Empfaenger"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


HISTORIES_ENV = "RATHAUS_RECORD_HISTORIES"


async def record_histories(address: str, task_queue: str = "rathaus-cases") -> int:
    """Save the event history of every completed or still running workflow on ``task_queue``
    (a running one up to where it waits: for a payment, a document, a timer) as JSON into the
    directory named by ``RATHAUS_RECORD_HISTORIES`` (nothing when it is not set), named
    after the running test. The replay test (platform/tests/unit/test_workflow_replay.py)
    runs the current workflow code against them, so a change to a workflow that is not
    behind ``workflow.patched`` fails the build. Record anew with
    ``RATHAUS_RECORD_HISTORIES=platform/tests/histories .venv/bin/pytest <integration tests>``
    and commit what changed."""
    directory = os.environ.get(HISTORIES_ENV)
    if not directory:
        return 0
    from temporalio.client import Client, WorkflowExecutionStatus

    current = os.environ.get("PYTEST_CURRENT_TEST", "test").split(" ")[0]  # path::name (phase)
    test = f"{Path(current.split('::')[0]).stem}-{current.split('::')[-1]}"
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - a test helper writing a few files
    client = await Client.connect(address)
    saved = 0
    async for execution in client.list_workflows(f'TaskQueue="{task_queue}"'):
        if execution.status not in (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.RUNNING):
            continue
        history = await client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history()
        saved += 1
        (target / f"{test}-{execution.workflow_type}-{saved}.json").write_text(
            history.to_json(), encoding="utf-8"
        )
    return saved


def setting_path(name: str) -> list[str]:
    """``RATHAUS_NATS__URL`` -> ``["nats", "url"]``, checked field by field against Settings,
    which ignores unknown variables (``extra="ignore"``): a typo in a manifest or a container's
    environment would pass unnoticed at run time. Fails with the name of a variable it does
    not read."""
    assert name.startswith("RATHAUS_"), name
    if name == "RATHAUS_CONFIG":  # the TOML file's path, read before the fields
        return ["config"]
    keys = name.removeprefix("RATHAUS_").lower().split("__")
    model: Any = Settings
    for i, key in enumerate(keys):
        assert isinstance(model, type) and issubclass(model, BaseModel), f"{name}: {key} is not nested"
        assert key in model.model_fields, f"{name}: Settings has no {'.'.join(keys[: i + 1])}"
        if i == 0 and key == "databases":  # a dict: one entry per module
            assert len(keys) == 2 and keys[1] in MODULE_NAMES, name
            return keys
        model = model.model_fields[key].annotation
    return keys


def settings_from_env(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, config: Path) -> Settings:
    """Settings as a process with exactly this environment reads them (no TOML file: ``config``
    names one that does not exist); every variable must be one Settings reads."""
    for key in [k for k in os.environ if k.startswith("RATHAUS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("RATHAUS_CONFIG", str(config))
    for key, value in env.items():
        setting_path(key)
        monkeypatch.setenv(key, value)
    return Settings()
