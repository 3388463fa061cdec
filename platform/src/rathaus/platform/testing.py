"""Pytest fixtures: real nats-server and Temporal dev server from the pip-shipped
binaries, on free ports in temporary directories, stopped afterwards.

Registered for every member by the root ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rathaus.platform.kernel.settings import NatsSettings, Settings, TemporalSettings
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


class EmbeddedPlatform:
    """``rathaus up`` as a real child process on its own data dir and free ports."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.web_port, self.nats_port, self.temporal_port, self.ui_port, self.smtp_port = (
            free_port() for _ in range(5)
        )
        self.deadline_scale = 1.0
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.nats_url = f"nats://127.0.0.1:{self.nats_port}"
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
        env.update(
            {
                "RATHAUS_WEB__PORT": str(self.web_port),
                "RATHAUS_NATS__PORT": str(self.nats_port),
                "RATHAUS_TEMPORAL__ADDRESS": f"127.0.0.1:{self.temporal_port}",
                "RATHAUS_TEMPORAL__UI_PORT": str(self.ui_port),
                "RATHAUS_CONFIG": str(self.data_dir / "rathaus.toml"),
                "RATHAUS_SMTP__PORT": str(self.smtp_port),
                "RATHAUS_DEADLINE_SCALE": str(self.deadline_scale),
            }
        )
        return env

    def nats_credentials(self, user: str = "rathaus") -> dict[str, str]:
        """Connection options for nats-py as the platform (or ``integrator``) user."""
        import json

        users = json.loads((self.data_dir / "nats" / "users.json").read_text())
        return {"servers": self.nats_url, "user": user, "password": users[user]}

    def start(self, timeout: float = 180.0) -> None:
        """Start and wait for the line that says it is up (or for it to die)."""
        rathaus = str(Path(sys.executable).parent / "rathaus")
        self.proc = subprocess.Popen(  # noqa: S603 - our own command
            [rathaus, "up", "--data-dir", str(self.data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env(),
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        for line in self.proc.stdout:
            self.output.append(line)
            if "Strg-C" in line:
                threading.Thread(target=self._drain, daemon=True).start()
                return
            if time.monotonic() > deadline:
                break
        self.proc.kill()
        raise AssertionError("rathaus up did not come up:\n" + "".join(self.output[-40:]))

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def stop(self, timeout: float = 60.0) -> int:
        """Ctrl-C, as an operator would; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill_group()
            raise AssertionError(
                "rathaus up did not stop on Ctrl-C:\n" + "".join(self.output[-40:])
            ) from None

    def kill(self) -> None:
        """SIGKILL the platform and its child servers, as a power cut would."""
        self._kill_group()

    def _kill_group(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


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
