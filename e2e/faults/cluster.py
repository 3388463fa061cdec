"""The distributed shape on one host: nats-server, the Temporal dev server, a mail sink and
one ``rathaus serve <component>`` process per component (or several replicas of each), all on
one data directory, each of which the fault suite can SIGKILL, restart, stop and continue."""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nats
from nats.js.api import ConsumerInfo

from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.settings import (
    COMPONENTS,
    NatsSettings,
    PaymentSettings,
    SmtpSettings,
    TemporalSettings,
)
from rathaus.platform.runtime.mailsink import MailSink
from rathaus.platform.runtime.natscluster import NatsCluster
from rathaus.platform.runtime.processes import ChildProcess, free_port, nats_server, temporal_server
from rathaus.platform.testing import eventually

RATHAUS = str(Path(sys.executable).parent / "rathaus")
STAFF_USER, STAFF_PASSWORD = "fault-sachbearbeitung", "fault-suite-passwort-1"
SECRET = "fault-suite-secret-fault-suite-secret-00"
# short, so a message a killed process had fetched is delivered again soon; handlers slower
# than this (a Bescheid rendered on a busy machine) get a second, concurrent delivery
ACK_WAIT = 10.0
# as in the kernel's tests: an outage outlasts a poison message's retries in seconds
MAX_DELIVER = 3


@dataclass
class ServeProcess:
    """One ``rathaus serve <component>`` process on a fixed port (kept across restarts)."""

    component: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log_offset: int = 0

    def launch(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [RATHAUS, "serve", self.component, "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
            )

    async def wait_ready(self, timeout: float = 180.0) -> None:
        """Until it prints that it serves (all of its consumers and its relay run by then)."""
        ready = f"rathaus {self.component} on http://"

        async def serving() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"rathaus serve {self.component} died:\n{self.log_tail()}")
            return ready in self.log_text()

        await eventually(serving, timeout=timeout, interval=0.1)

    async def start(self) -> None:
        self.launch()
        await self.wait_ready()

    def kill(self) -> None:
        """SIGKILL, as a power cut or the OOM killer would."""
        self._signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self._signal(signal.SIGCONT)  # a stopped process cannot act on SIGINT
        self._signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def log_text(self) -> str:
        """What this process printed since its last start."""
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class Distributed:
    """Every component in its own process against one NATS, one Temporal, one data dir;
    ``replicas`` processes of each (``RATHAUS_REPLICA`` 0, 1, …), each on its own port."""

    def __init__(self, root: Path, replicas: int = 1, *, nats_cluster: NatsCluster | None = None) -> None:
        """``replicas``: processes of each component (``RATHAUS_REPLICA`` 0, 1, …), each on
        its own port. ``nats_cluster``: a JetStream cluster (not started yet) instead of one
        nats-server; streams and consumers then have as many replicas as it has nodes (at
        most three)."""
        self.root = root
        self.data_dir = root / "data"
        self.nats_port, self.temporal_port, self.smtp_port = free_port(), free_port(), free_port()
        self.payment_port = free_port()
        self.nats_url = f"nats://127.0.0.1:{self.nats_port}"
        self.nats: ChildProcess = nats_server(root / "nats-server", self.nats_port)
        self.nats_cluster = nats_cluster
        self.stream_replicas = 1
        if nats_cluster is not None:
            self.nats_url = nats_cluster.url
            self.stream_replicas = min(len(nats_cluster.nodes), 3)
        self.temporal: ChildProcess = temporal_server(root / "temporal-server", self.temporal_port, None)
        self.mail = MailSink(root / "mailsink", self.smtp_port)
        # the test payment provider as its own process, as a real provider would be
        self.payprovider = ChildProcess(
            "payprovider",
            [RATHAUS, "payprovider", "--port", str(self.payment_port), "--data-dir", str(self.data_dir)],
            root / "logs" / "payprovider.log",
            self.payment_port,
        )
        self.config = root / "rathaus.toml"
        # the PostgreSQL pass: every module's database on the session's cluster
        server = os.environ.get("RATHAUS_TEST_POSTGRES")
        self.postgres = f"{server}/d{os.urandom(4).hex()}" if server else None
        env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
        env["RATHAUS_CONFIG"] = str(self.config)
        self.env = env
        self.replicas = {
            c: [
                ServeProcess(
                    c,
                    free_port(),
                    {**env, "RATHAUS_REPLICA": str(i)},
                    root / "logs" / (f"{c}.log" if i == 0 else f"{c}-{i}.log"),
                )
                for i in range(replicas)
            ]
            for c in COMPONENTS
        }
        self.processes = {c: r[0] for c, r in self.replicas.items()}  # the first replica of each

    @property
    def nats_servers(self) -> list[str]:
        """The client URLs, as nats-py's ``servers`` takes them."""
        return self.nats_url.split(",")

    @property
    def eakte_url(self) -> str:
        return f"http://127.0.0.1:{self.processes['eakte'].port}"

    def urls(self, component: str) -> list[str]:
        """The base URL of every replica of a component."""
        return [f"http://127.0.0.1:{p.port}" for p in self.replicas[component]]

    def every_process(self) -> list[ServeProcess]:
        return [p for replicas in self.replicas.values() for p in replicas]

    def settings(self) -> Settings:
        """What ``rathaus.toml`` below says, for the test's own kernels."""
        return Settings(
            data_dir=self.data_dir,
            seed_demo=False,
            secret_key=SECRET,
            nats=NatsSettings(
                url=self.nats_url,
                port=self.nats_port,
                ack_wait_seconds=ACK_WAIT,
                max_deliver=MAX_DELIVER,
                replicas=self.stream_replicas,
            ),
            temporal=TemporalSettings(address=f"127.0.0.1:{self.temporal_port}"),
            smtp=SmtpSettings(host="127.0.0.1", port=self.smtp_port),
            payment=PaymentSettings(port=self.payment_port),
            postgres=self.postgres,
        )

    def write_config(self) -> None:
        """The operator's ``rathaus.toml``, read by every ``rathaus`` command through ``RATHAUS_CONFIG``."""
        self.config.write_text(
            f"""data_dir = "{self.data_dir}"
seed_demo = false
secret_key = "{SECRET}"
{f'postgres = "{self.postgres}"' if self.postgres else ""}

[nats]
url = "{self.nats_url}"
port = {self.nats_port}
ack_wait_seconds = {ACK_WAIT}
max_deliver = {MAX_DELIVER}
replicas = {self.stream_replicas}

[temporal]
address = "127.0.0.1:{self.temporal_port}"

[smtp]
host = "127.0.0.1"
port = {self.smtp_port}

[payment]
port = {self.payment_port}
""",
            encoding="utf-8",
        )

    async def start(self) -> None:
        self.write_config()
        if self.nats_cluster is not None:
            self.nats_cluster.start()
            await eventually(self.nats_cluster.jetstream_ready, timeout=60, interval=0.2)
        else:
            self.nats.start()
        self.temporal.start(timeout=120)
        self.mail.start()
        self.payprovider.start()
        await seed_demo_city(self.settings())
        staff = subprocess.Popen(
            [
                RATHAUS, "users", "add-staff", "--username", STAFF_USER, "--name", "Fault Suite",
                "--role", "sachbearbeitung", "--unit", "KVR-III/12", "--password", STAFF_PASSWORD,
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        for process in self.every_process():  # in parallel: imports take a while
            process.launch()
        assert staff.wait(120) == 0, staff.stdout.read() if staff.stdout else b""
        for process in self.every_process():
            await process.wait_ready()

    async def restart(self, component: str) -> None:
        """SIGKILL one component and start it again on the same port and data dir."""
        self.processes[component].kill()
        await self.processes[component].start()

    async def consumer(self, stream: str, durable: str) -> ConsumerInfo:
        # a cluster node may be away: the next one of the list is tried
        nc = await nats.connect(self.nats_servers, max_reconnect_attempts=3, connect_timeout=5)
        try:
            return await nc.jetstream(timeout=10).consumer_info(stream, durable)
        finally:
            await nc.close()

    async def backlog(self, stream: str, durable: str) -> int:
        """Messages waiting for a consumer, or delivered to it and not acked yet."""
        info = await self.consumer(stream, durable)
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    async def deliveries(self, stream: str, durable: str) -> int:
        """How many deliveries a consumer has had: first ones and redeliveries."""
        info = await self.consumer(stream, durable)
        return int(info.delivered.consumer_seq or 0) if info.delivered else 0

    def stop(self) -> None:
        for process in self.every_process():
            process.stop()
        self.temporal.stop()
        self.nats.stop()
        if self.nats_cluster is not None:
            self.nats_cluster.stop()
        self.payprovider.stop()
        with contextlib.suppress(Exception):
            self.mail.stop()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.log_path.stem} ---\n{p.log_tail()}" for p in self.every_process() if p.log_path.exists()
        )


async def seed_demo_city(settings: Settings) -> None:
    """What ``rathaus up`` does on a fresh data dir: each module's own seed (the E-Akte's
    units and file plan, the broker's registers, the portal's demo citizen), once, before
    any process starts. The processes run with ``seed_demo = false``, so that ``rathaus
    serve`` seeds nothing itself, and the staff account can be added before they start."""
    for module in ("eakte", "broker", "portal"):
        bootstrap = importlib.import_module(f"rathaus.{module}.bootstrap")
        kernel = Kernel(module, settings)
        app: ModuleApp = bootstrap.bootstrap(kernel)
        await kernel.db.migrate(app.migrations, app.metadata)
        if app.seed is not None:
            await app.seed()
        await kernel.db.dispose()
