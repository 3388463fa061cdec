"""``rathaus up`` as a child process on its own data dir and free ports: what the e2e
tests, the fault suite and ``rathaus bench`` start and stop."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rathaus.platform.runtime.processes import free_port, free_port_row


class EmbeddedPlatform:
    """``rathaus up`` as a real child process on its own data dir and free ports."""

    def __init__(self, data_dir: Path, *, nats_cluster: int = 1, replicas: int = 1) -> None:
        self.data_dir = data_dir
        self.replicas = replicas  # `rathaus up --replicas N`: each group of modules N times
        self.web_port, self.temporal_port, self.ui_port, self.smtp_port = (free_port() for _ in range(4))
        # `rathaus up --nats-cluster N`: its nodes on nats_port … nats_port+N-1, routes beside
        self.nats_cluster = nats_cluster
        self.nats_port = free_port_row(nats_cluster)
        self.cluster_port = free_port_row(nats_cluster)
        self.payment_port = free_port()  # the embedded test payment provider
        self.payment_url = f"http://127.0.0.1:{self.payment_port}"
        self.identity_port = free_port()  # the embedded test identity provider
        self.identity_url = f"http://127.0.0.1:{self.identity_port}"
        self.archive_port = free_port()  # the embedded Test-Archiv
        self.deadline_scale = 1.0
        # a PostgreSQL server for the modules' databases (`rathaus up --postgres`), named after
        # the data dir so that a platform started again on it finds its data; the test
        # suites' PostgreSQL pass hands its session cluster over in RATHAUS_TEST_POSTGRES
        server = os.environ.get("RATHAUS_TEST_POSTGRES")
        digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
        self.postgres: str | None = f"{server}/p{digest}" if server else None
        self.extra_env: dict[str, str] = {}  # further RATHAUS_* settings, e.g. procedure directories
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.nats_servers = [f"nats://127.0.0.1:{self.nats_port + i}" for i in range(nats_cluster)]
        self.nats_url = self.nats_servers[0]
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
        env.update(
            {
                "RATHAUS_WEB__PORT": str(self.web_port),
                "RATHAUS_NATS__PORT": str(self.nats_port),
                "RATHAUS_NATS__CLUSTER_PORT": str(self.cluster_port),
                "RATHAUS_TEMPORAL__ADDRESS": f"127.0.0.1:{self.temporal_port}",
                "RATHAUS_TEMPORAL__UI_PORT": str(self.ui_port),
                "RATHAUS_CONFIG": str(self.data_dir / "rathaus.toml"),
                "RATHAUS_SMTP__PORT": str(self.smtp_port),
                "RATHAUS_PAYMENT__PORT": str(self.payment_port),
                "RATHAUS_IDENTITY__PORT": str(self.identity_port),
                "RATHAUS_ARCHIVE__PORT": str(self.archive_port),
                "RATHAUS_DEADLINE_SCALE": str(self.deadline_scale),
                **self.extra_env,
            }
        )
        if self.postgres:
            env["RATHAUS_POSTGRES"] = self.postgres
        return env

    def nats_credentials(self, user: str = "rathaus") -> dict[str, Any]:
        """Connection options for nats-py as the platform (or ``integrator``) user."""
        import json

        users = json.loads((self.data_dir / "nats" / "users.json").read_text())
        return {"servers": self.nats_servers, "user": user, "password": users[user]}

    def payment_credentials(self) -> tuple[str, str]:
        """User and password of the embedded test payment provider (its API and test controls)."""
        from rathaus.platform.kernel.payment import embedded_provider_credentials

        return embedded_provider_credentials(self.data_dir)

    def start(self, timeout: float = 180.0) -> None:
        """Start and wait for the line that says it is up (or for it to die)."""
        rathaus = str(Path(sys.executable).parent / "rathaus")
        self.proc = subprocess.Popen(  # noqa: S603 - our own command
            [
                *(rathaus, "up", "--data-dir", str(self.data_dir)),
                *("--nats-cluster", str(self.nats_cluster), "--replicas", str(self.replicas)),
            ],
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
