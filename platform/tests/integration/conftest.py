"""Fixtures of the platform's integration tests.

``embedded_nats`` and ``webhook_receiver``, what the integrator tests share: the embedded
platform's nats-server (its configuration written by natsauth, as `rathaus up` does), the
`rathaus integrators` command as a real process, the events of N cases published as the
modules publish them, and an integrator's HTTP endpoint that checks each delivery."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import nats as nats_py
import pytest
import uvicorn

from rathaus.contracts.catalogue import by_subject
from rathaus.contracts.envelope import DataClass, encode_event, new_event
from rathaus.platform.kernel.bus import stream_name
from rathaus.platform.runtime import natsauth
from rathaus.platform.runtime.processes import ChildProcess, free_port, nats_server
from rathaus.platform.runtime.webhooks import (
    SIGNATURE_HEADER,
    InvalidWebhook,
    ReplayedWebhook,
    verify_webhook,
)

# one case's way through the city, in the order the modules publish (P = personal)
CASE_PATH = [
    "rathaus.portal.application.submitted.v2",  # P
    "rathaus.platform.case.status-changed.v1",
    "rathaus.eakte.case.opened.v1",
    "rathaus.platform.decision.requested.v1",
    "rathaus.platform.case.status-changed.v1",
    "rathaus.eakte.decision.made.v2",  # P
    "rathaus.platform.delivery.requested.v1",
    "rathaus.output.decision.delivered.v1",
    "rathaus.output.notification.sent.v1",  # P
    "rathaus.portal.document.retrieved.v1",
    "rathaus.portal.retrieval.recorded.v1",  # P
    "rathaus.platform.case.status-changed.v1",
]


@dataclass
class EmbeddedNats:
    data_dir: Path
    port: int
    process: ChildProcess

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def platform_login(self) -> dict[str, Any]:
        password = natsauth.credentials(self.data_dir)[natsauth.PLATFORM_USER]
        return {"servers": self.url, "user": natsauth.PLATFORM_USER, "password": password}

    def _run(self, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
        env.update({"RATHAUS_NATS__PORT": str(self.port), "RATHAUS_CONFIG": str(self.data_dir / "none.toml")})
        command = [str(Path(sys.executable).parent / "rathaus"), "integrators", *args]
        return subprocess.run(
            [*command, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    def rathaus(self, *args: str) -> str:
        """``rathaus integrators …`` as an operator runs it; returns its output."""
        done = self._run(args)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def rathaus_fails(self, *args: str) -> str:
        """The same, refused: returns the error it printed."""
        done = self._run(args)
        assert done.returncode == 2, done.stdout + done.stderr
        return done.stderr

    @staticmethod
    def secret_from(output: str, label: str) -> str:
        """The value printed after ``label`` (a password, a webhook secret)."""
        for line in output.splitlines():
            if line.strip().startswith(label):
                return line.split()[len(label.split())]
        raise AssertionError(f"no {label} in:\n{output}")

    async def publish_cases(self, cases: int) -> list[Published]:
        return await publish_cases(self.platform_login(), cases)


@pytest.fixture
def embedded_nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    """nats-server with the configuration `rathaus up` writes (users from natsauth)."""
    data_dir = (tmp_path / "rathaus").resolve()
    port = free_port()
    process = nats_server(data_dir, port, config=natsauth.write_config(data_dir))
    process.start()
    try:
        yield EmbeddedNats(data_dir, port, process)
    finally:
        process.stop()


def _sample(info: msgspec.inspect.Type, n: int) -> Any:
    """A valid value of a contract field's type (the tests need valid events, not real ones)."""
    t = msgspec.inspect
    if isinstance(info, t.UnionType):
        return _sample(next(x for x in info.types if not isinstance(x, t.NoneType)), n)
    if isinstance(info, t.StrType):
        return f"wert-{n}"
    if isinstance(info, t.BoolType):
        return True
    if isinstance(info, t.IntType):
        return n
    if isinstance(info, t.FloatType):
        return float(n)
    if isinstance(info, t.ListType):
        return []
    if isinstance(info, t.DictType):
        return {}
    if isinstance(info, t.StructType):
        return {f.encode_name: _sample(f.type, n) for f in info.fields if f.required}
    if isinstance(info, t.AnyType):
        return None
    raise TypeError(f"no sample for {info}")


def contract_event(subject: str, case_id: str, n: int) -> tuple[str, bytes, DataClass]:
    """A CloudEvent of the contract on ``subject`` for the case, as the kernel encodes it."""
    contract = by_subject(subject)
    info = msgspec.inspect.type_info(contract.struct)
    assert isinstance(info, msgspec.inspect.StructType)
    data = {f.encode_name: _sample(f.type, n) for f in info.fields if f.required}
    data["case_id"] = case_id
    event = new_event(msgspec.convert(data, contract.struct), subject=case_id)
    return event.id, encode_event(event), contract.data_class


@dataclass
class Published:
    event_id: str
    subject: str
    case_id: str
    stream: str
    personal: bool


async def publish_cases(login: dict[str, Any], cases: int) -> list[Published]:
    """``cases`` cases' events, each case's in CASE_PATH order, with Nats-Msg-Id as the outbox does."""
    nc = await nats_py.connect(**login)
    js = nc.jetstream()
    published: list[Published] = []
    try:
        for n in range(cases):
            case_id = str(uuid.uuid4())
            for subject in CASE_PATH:
                event_id, body, data_class = contract_event(subject, case_id, n)
                producer = subject.split(".")[1]
                stream = stream_name(producer)
                await js.publish(subject, body, stream=stream, headers={"Nats-Msg-Id": event_id})
                published.append(
                    Published(event_id, subject, case_id, stream, data_class is DataClass.PERSONAL)
                )
    finally:
        await nc.close()
    return published


class Receiver:
    """An integrator's HTTP endpoint doing what the README says: verify, drop repeats."""

    def __init__(self, port: int, secret: str) -> None:
        self.port, self.secret = port, secret
        self.url = f"http://127.0.0.1:{port}/ereignisse"
        self.events: list[dict[str, Any]] = []  # accepted, in arrival order
        self.raw: list[tuple[bytes, str]] = []  # (body, signature) of each accepted delivery
        self.refused = 0
        self.repeated = 0
        self.seen: set[str] = set()
        self.content_types: set[str] = set()
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status = 204
        try:
            event = verify_webhook(
                self.secret, headers.get(SIGNATURE_HEADER.lower(), ""), body, seen=self.seen
            )
            self.events.append(event)
            self.raw.append((body, headers[SIGNATURE_HEADER.lower()]))
            self.content_types.add(headers["content-type"])
        except ReplayedWebhook:
            self.repeated += 1  # answered 2xx, not applied again
            status = 200
        except InvalidWebhook:
            self.refused += 1
            status = 400
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def start(self) -> None:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", interface="asgi3"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "receiver did not start"
            time.sleep(0.02)  # polling the server's start, not waiting for a result

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(15)


@pytest.fixture
def webhook_receiver() -> Iterator[Callable[[int, str], Receiver]]:
    """Make receivers (stopped at the end): ``webhook_receiver(port, secret)``, not yet started."""
    made: list[Receiver] = []

    def make(port: int, secret: str) -> Receiver:
        made.append(Receiver(port, secret))
        return made[-1]

    yield make
    for receiver in made:
        receiver.stop()
