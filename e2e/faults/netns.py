"""Each nats-server node in its own network namespace, joined by a bridge in the root
namespace (where the platform's processes run), so a test can cut one node off from the
other two and from the clients, then heal it. Needs root (as CI has) and ``ip``."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import subprocess
from pathlib import Path

from rathaus.platform.runtime.natscluster import NatsCluster, NatsNode

CLIENT_PORT, ROUTE_PORT = 4222, 6222  # every node has its own namespace: the same ports


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def netns_available() -> str | None:
    """Why the namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    return None


class Namespaces:
    """``count`` namespaces ``rathaus-<tag>-<i>``, each with a veth whose other end is on
    the bridge ``rb<tag>``; the bridge has ``10.77.<net>.1``, node i ``10.77.<net>.<10+i>``.
    Names and the subnet are unique per test run; ``delete`` removes everything."""

    def __init__(self, count: int = 3) -> None:
        self.tag = secrets.token_hex(3)  # interface names may have at most 15 characters
        used = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True, check=True).stdout
        free = [n for n in range(1, 255) if f"10.77.{n}." not in used]
        self.net = random.choice(free)
        self.bridge = f"rb{self.tag}"
        self.names = [f"rathaus-{self.tag}-{i}" for i in range(1, count + 1)]
        self.veths = [f"rv{self.tag}{i}" for i in range(1, count + 1)]
        self.addresses = [f"10.77.{self.net}.{10 + i}" for i in range(1, count + 1)]

    def create(self) -> None:
        try:
            _ip("link", "add", self.bridge, "type", "bridge")
            _ip("addr", "add", f"10.77.{self.net}.1/24", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
            for name, veth, address in zip(self.names, self.veths, self.addresses, strict=True):
                _ip("netns", "add", name)
                _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
                _ip("link", "set", veth, "master", self.bridge)
                _ip("link", "set", veth, "up")
                _ip("-n", name, "addr", "add", f"{address}/24", "dev", "eth0")
                _ip("-n", name, "link", "set", "eth0", "up")
                _ip("-n", name, "link", "set", "lo", "up")
        except BaseException:
            self.delete()
            raise

    def wrapper(self, i: int) -> list[str]:
        """The command prefix that runs a program in namespace ``i`` (0-based)."""
        return ["ip", "netns", "exec", self.names[i]]

    def cut(self, i: int) -> None:
        """Node ``i`` loses its link: no route to the other nodes, no client reaches it."""
        _ip("link", "set", self.veths[i], "down")

    def heal(self, i: int) -> None:
        _ip("link", "set", self.veths[i], "up")

    def delete(self) -> None:
        for name in self.names:  # deleting a namespace deletes its end of the veth, and so both
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("netns", "del", name)
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", self.bridge)

    def cluster(self, directory: Path) -> NatsCluster:
        """A JetStream cluster with node i in namespace i, listening on its own address."""
        nodes = [
            NatsNode(
                name=f"rathaus-{i + 1}",
                host=address,
                port=CLIENT_PORT,
                cluster_port=ROUTE_PORT,
                directory=directory / f"node-{i + 1}",
                log_path=directory / f"nats-server-{i + 1}.log",
                wrapper=self.wrapper(i),
            )
            for i, address in enumerate(self.addresses)
        ]
        return NatsCluster(nodes)

    def index(self, node: NatsNode) -> int:
        return self.addresses.index(node.host)
