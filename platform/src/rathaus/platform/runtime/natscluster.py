"""A NATS JetStream cluster from the pip-shipped nats-server: N nodes with routes to each
other, each with its own configuration file and store directory, for ``rathaus up
--nats-cluster 3``, the ``nats_cluster`` test fixture and the cluster fault tests.

A node may run behind a wrapper command (``ip netns exec <namespace>``): the fault tests
put each node in its own network namespace and cut one off from the others.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
from nats.js.api import StreamInfo

from rathaus.platform.runtime.processes import die_with_parent, find_binary, require_free, wait_for_port

CLUSTER_NAME = "rathaus"
ROUTE_USER = "route"


@dataclass
class NatsNode:
    """One nats-server of the cluster: its addresses, its directory (configuration, store,
    pid file) and its process, which a test may kill, stop, freeze and start again."""

    name: str
    host: str  # where clients and the other nodes reach it
    port: int
    cluster_port: int
    directory: Path
    log_path: Path
    wrapper: list[str] = field(default_factory=list)  # e.g. ["ip", "netns", "exec", "ns1"]
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.directory / "nats.conf"

    @property
    def store_dir(self) -> Path:
        return self.directory / "jetstream"

    @property
    def pid_file(self) -> Path:
        return self.directory / "nats-server.pid"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def launch(self) -> None:
        """Start the process; ``wait_ready`` waits for its client port."""
        if not self.wrapper:  # in a namespace of its own it cannot clash with this host's ports
            require_free(self.port, self.name, self.host)
            require_free(self.cluster_port, f"{self.name} (routes)", self.host)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            # own session (a Ctrl-C reaches only the platform); gone when the platform dies
            self.proc = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
                [
                    *self.wrapper,
                    find_binary("nats-server"),
                    "-c",
                    str(self.config_path),
                    "-P",
                    str(self.pid_file),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        assert self.proc is not None, "launch() first"
        wait_for_port(self.port, self.proc, self.name, timeout, host=self.host)

    def start(self, timeout: float = 60.0) -> None:
        self.launch()
        self.wait_ready(timeout)

    def stop(self, timeout: float = 20.0) -> None:
        """As an operator stops it (SIGTERM: it leaves the cluster in order), else killed."""
        if not self.running:
            return
        assert self.proc is not None
        self._signal(signal.SIGCONT)  # a frozen process cannot act on SIGTERM
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL, as a power cut or the OOM killer would."""
        if self.running:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait()

    def freeze(self) -> None:
        """SIGSTOP: the node holds its connections open and answers nothing (a hung VM)."""
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def reload(self) -> None:
        """SIGHUP: reread the configuration (a new integrator's user)."""
        self._signal(signal.SIGHUP)

    def _signal(self, sig: signal.Signals) -> None:
        if self.running:
            assert self.proc is not None
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, sig)


class NatsCluster:
    """N nats-server nodes forming one JetStream cluster (R3 streams need three)."""

    def __init__(
        self,
        nodes: list[NatsNode],
        *,
        sync_interval: str | None = None,
        include: Path | None = None,
    ) -> None:
        self.nodes = nodes
        self.sync_interval = sync_interval
        self.include = include  # a configuration every node reads first (users, permissions)
        self.route_password = secrets.token_urlsafe(18)

    @classmethod
    def on_loopback(
        cls,
        directory: Path,
        size: int = 3,
        *,
        ports: list[int],
        cluster_ports: list[int],
        log_dir: Path | None = None,
        sync_interval: str | None = None,
        include: Path | None = None,
    ) -> NatsCluster:
        """``size`` nodes on 127.0.0.1, each under ``directory/node-<i>``."""
        nodes = [
            NatsNode(
                name=f"{CLUSTER_NAME}-{i}",
                host="127.0.0.1",
                port=ports[i - 1],
                cluster_port=cluster_ports[i - 1],
                directory=directory / f"node-{i}",
                log_path=(log_dir or directory) / f"nats-server-{i}.log",
            )
            for i in range(1, size + 1)
        ]
        return cls(nodes, sync_interval=sync_interval, include=include)

    @property
    def servers(self) -> list[str]:
        """The client URLs, for nats-py's ``servers``."""
        return [node.url for node in self.nodes]

    @property
    def url(self) -> str:
        """The client URLs as ``nats.url`` takes them (comma-separated)."""
        return ",".join(self.servers)

    def node(self, name: str) -> NatsNode:
        return next(node for node in self.nodes if node.name == name)

    def config(self, node: NatsNode) -> str:
        """A node's configuration (nats-server's syntax; the values are JSON)."""
        jetstream: dict[str, Any] = {"store_dir": str(node.store_dir)}
        if self.sync_interval:
            jetstream["sync_interval"] = self.sync_interval
        routes = [
            f"nats-route://{ROUTE_USER}:{self.route_password}@{other.host}:{other.cluster_port}"
            for other in self.nodes
            if other is not node
        ]
        cluster = {
            "name": CLUSTER_NAME,
            "listen": f"{node.host}:{node.cluster_port}",
            "authorization": {"user": ROUTE_USER, "password": self.route_password},
            "routes": routes,
        }
        # nats-server resolves an include relative to the including file, even an absolute path
        include = os.path.relpath(self.include, node.directory) if self.include else None
        lines = [f"include {json.dumps(include)}"] if include else []
        lines += [
            # after the include: the node's own name and addresses win over a shared file's
            f"server_name: {json.dumps(node.name)}",
            f"listen: {json.dumps(f'{node.host}:{node.port}')}",
            f"jetstream: {json.dumps(jetstream)}",
            f"cluster: {json.dumps(cluster)}",
        ]
        return "\n".join(lines) + "\n"

    def write_configs(self) -> None:
        for node in self.nodes:
            node.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(node.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # a password inside
            with os.fdopen(fd, "w") as handle:
                handle.write(self.config(node))

    def start(self, timeout: float = 60.0) -> None:
        """Every node at once (a JetStream cluster waits for its peers), then each ready."""
        self.write_configs()
        try:
            for node in self.nodes:
                node.launch()
            for node in self.nodes:
                node.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def reload(self) -> None:
        for node in self.nodes:
            node.reload()

    async def jetstream_ready(self, **options: Any) -> bool:
        """True once the nodes have elected a meta leader and JetStream's API answers."""
        try:
            nc = await nats.connect(self.servers, connect_timeout=2, max_reconnect_attempts=1, **options)
        except (OSError, TimeoutError, nats.errors.Error):
            return False
        try:
            await nc.jetstream(timeout=2).account_info()
            return True
        except (OSError, TimeoutError, nats.errors.Error):
            return False
        finally:
            await nc.close()

    async def stream_info(self, stream: str, **options: Any) -> StreamInfo:
        """The stream as the cluster reports it (from whichever node answers)."""
        nc = await nats.connect(self.servers, connect_timeout=5, max_reconnect_attempts=3, **options)
        try:
            return await nc.jetstream(timeout=10).stream_info(stream)
        finally:
            await nc.close()

    async def leader(self, stream: str, **options: Any) -> NatsNode:
        """The node that leads ``stream`` now."""
        info = await self.stream_info(stream, **options)
        if info.cluster is None or not info.cluster.leader:
            raise LookupError(f"{stream} has no leader now")
        return self.node(info.cluster.leader)

    async def replicated(self, stream: str, **options: Any) -> bool:
        """True when ``stream`` has a leader and every other replica is current."""
        try:
            info = await self.stream_info(stream, **options)
        except (OSError, TimeoutError, nats.errors.Error):
            return False
        cluster = info.cluster
        if cluster is None or not cluster.leader:
            return False
        peers = cluster.replicas or []
        wanted = (info.config.num_replicas or 1) - 1
        return len(peers) == wanted and all(p.current and not p.offline for p in peers)


SERVERS_FILE = (
    "cluster-servers"  # under <data_dir>/nats: the client URLs of a running `rathaus up --nats-cluster`
)


def embedded_cluster(data_dir: Path, size: int, port: int, cluster_port: int, **kwargs: Any) -> NatsCluster:
    """The cluster of ``rathaus up --nats-cluster N``: node i (1…N) under
    ``<data_dir>/nats/node-<i>``, listening on ``port + i - 1`` for clients and on
    ``cluster_port + i - 1`` for routes, logging to ``<data_dir>/logs/nats-server-<i>.log``."""
    cluster = NatsCluster.on_loopback(
        data_dir / "nats",
        size,
        ports=[port + i for i in range(size)],
        cluster_ports=[cluster_port + i for i in range(size)],
        log_dir=data_dir / "logs",
        **kwargs,
    )
    (data_dir / "nats" / SERVERS_FILE).write_text(cluster.url + "\n")
    return cluster


def embedded_servers(data_dir: Path) -> str | None:
    """The client URLs of the data dir's cluster (``nats.url``), None for a single node."""
    path = data_dir / "nats" / SERVERS_FILE
    return path.read_text().strip() if path.exists() else None


def embedded_pid_files(data_dir: Path) -> list[Path]:
    """Where the data dir's nats-server nodes wrote their process ids."""
    return sorted((data_dir / "nats").glob("node-*/nats-server.pid"))
