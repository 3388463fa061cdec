"""Pytest fixtures: real nats-server and Temporal dev server from the pip-shipped
binaries, on free ports in temporary directories, stopped afterwards.

Registered for every member by the root ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from rathaus.platform.kernel.settings import NatsSettings, Settings, TemporalSettings
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


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster in a temporary directory, from the machine's binaries
    (skipped where there are none); a SQLAlchemy URL to its ``postgres`` database."""
    initdb, pg_ctl, pg_isready = (_postgres_binary(n) for n in ("initdb", "pg_ctl", "pg_isready"))
    if initdb is None or pg_ctl is None or pg_isready is None:
        pytest.skip("no PostgreSQL binaries on this machine")
    # PostgreSQL refuses to run as root: then the cluster belongs to the postgres user
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = Path(tempfile.mkdtemp(prefix="rathaus-pg-"))
    if as_user:
        shutil.chown(data, "postgres")
    port = free_port()
    subprocess.run(  # noqa: S603 - the machine's PostgreSQL binaries
        [*as_user, initdb, "-D", str(data / "db"), "-U", "rathaus", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    server = [*as_user, pg_ctl, "-D", str(data / "db"), "-l", str(data / "log"), "-w"]
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([*server, "-o", options, "start"], check=True, capture_output=True)  # noqa: S603
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(  # noqa: S603
            [pg_isready, "-h", "127.0.0.1", "-p", str(port)], capture_output=True, check=False
        ).returncode:
            assert time.monotonic() < deadline, (data / "log").read_text()
            time.sleep(0.1)  # polling the server's readiness, not waiting for a result
        yield f"postgresql+asyncpg://rathaus@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            subprocess.run([*server, "-m", "fast", "stop"], check=True, capture_output=True)  # noqa: S603
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def settings(tmp_path: Path, nats: RunningServer) -> Settings:
    """Settings for one test: its own data dir, the test's nats-server, SQLite files."""
    return Settings(
        data_dir=tmp_path / "data",
        nats=NatsSettings(url=nats.url, port=nats.port, max_deliver=3, ack_wait_seconds=5),
        temporal=TemporalSettings(),
        seed_demo=False,
        secret_key="test-secret-key-test-secret-key-0000",  # noqa: S106 - a test key
    )


async def eventually(
    condition: Callable[[], Awaitable[bool]], timeout: float = 20.0, interval: float = 0.05
) -> None:
    """Wait for a condition (polling), never for a fixed time; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition {condition.__name__} not reached within {timeout}s")
        await asyncio.sleep(interval)


@pytest.fixture
def embedded_platform(tmp_path: Path) -> Iterator[EmbeddedPlatform]:
    platform = EmbeddedPlatform(tmp_path / "rathaus")
    platform.start()
    try:
        yield platform
    finally:
        if platform.proc is not None and platform.proc.poll() is None:
            platform.kill()


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
