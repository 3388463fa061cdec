"""Durable submissions over HTTP, with load from a separate locust process.

The portal runs alone as in the distributed shape (``rathaus serve portal``, with the
broker for the address check and a nats-server), so the figure is the portal's own: a
submission is validated, its attachment stored, the application and its
``ApplicationSubmitted`` event committed in one transaction (outbox) before the 201 —
and the relay publishes it to JetStream meanwhile. The same locust load against a bare
Litestar endpoint on the same machine gives the ratio.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from rathaus.platform.runtime.processes import free_port, nats_server

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent


@dataclass
class HttpResult:
    name: str
    requests: int
    failures: int
    per_s: float
    p50_ms: float
    p99_ms: float


def rss_peak_kib(pid: int) -> int:
    """Peak resident set size (VmHWM) of a running process, in KiB; 0 when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=2)  # any answer: the server is up (health is 503 without Temporal)
            return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def locust(
    host: str, user_class: str, users: int, seconds: int, out: Path, env: dict[str, str]
) -> HttpResult:
    prefix = out / user_class.lower()
    subprocess.run(  # noqa: S603 - our own tool from the venv
        [
            str(BIN / "locust"),
            "-f",
            str(HERE / "locustfile.py"),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{seconds}s",
            "--host",
            host,
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
            user_class,
        ],
        env=env,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=seconds + 120,
    )
    with open(f"{prefix}_stats.csv", newline="") as f:
        row = next((r for r in csv.DictReader(f) if r["Name"] == "submit"), None)
    if row is None:
        raise RuntimeError(f"no {user_class} request finished within {seconds}s (see {prefix}_stats.csv)")
    return HttpResult(
        user_class,
        int(row["Request Count"]),
        int(row["Failure Count"]),
        float(row["Requests/s"]),
        float(row["50%"]),
        float(row["99%"]),
    )


def run(
    workdir: Path, *, users: int, seconds: int, citizens: int = 8
) -> tuple[list[HttpResult], dict[str, int]]:
    """The portal's durable submissions and the bare endpoint; returns results and peak RSS (KiB)."""
    data_dir = workdir / "http"
    nats_port, portal_port, broker_port, bare_port = (free_port() for _ in range(4))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update(
        {
            "RATHAUS_NATS__URL": f"nats://127.0.0.1:{nats_port}",
            "RATHAUS_SEED_DEMO": "true",
            "RATHAUS_SECRET_KEY": "bench-secret-bench-secret-bench-secret-0",
        }
    )
    server = nats_server(data_dir / "nats", nats_port)
    server.start()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    memory: dict[str, int] = {}
    try:
        for module, port in (("broker", broker_port), ("portal", portal_port)):
            procs[module] = subprocess.Popen(  # noqa: S603 - our own command
                [str(BIN / "rathaus"), "serve", module, "--data-dir", str(data_dir), "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(data_dir / f"{module}.log").open("wb"),
            )
            _wait_http(f"http://127.0.0.1:{port}/health", procs[module])
        accounts = []
        for i in range(citizens):
            email, password = f"bench-{i}@example.org", f"Bench-Passwort-{i:04d}"
            subprocess.run(  # noqa: S603
                [
                    str(BIN / "rathaus"),
                    "users",
                    "add-citizen",
                    "--email",
                    email,
                    "--given-name",
                    "Bench",
                    "--family-name",
                    "Mark",
                    "--birth-date",
                    "1980-01-01",
                    "--password",
                    password,
                    "--data-dir",
                    str(data_dir),
                ],
                env=env,
                check=True,
                capture_output=True,
            )
            accounts.append(f"{email}:{password}")
        procs["bare"] = subprocess.Popen(  # noqa: S603
            [
                str(BIN / "python"),
                "-m",
                "uvicorn",
                "rathaus.platform.bench.bare:app",
                "--port",
                str(bare_port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_http(f"http://127.0.0.1:{bare_port}/bare", procs["bare"])
        load_env = {**env, "RATHAUS_BENCH_CITIZENS": ",".join(accounts)}
        results = [
            locust(f"http://127.0.0.1:{portal_port}", "Citizen", users, seconds, data_dir, load_env),
            locust(f"http://127.0.0.1:{bare_port}", "Bare", users, seconds, data_dir, load_env),
        ]
        for name, proc in procs.items():
            memory[f"{name} (http section)"] = rss_peak_kib(proc.pid)
        memory["nats-server (http section)"] = rss_peak_kib(server.proc.pid) if server.proc else 0
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.stop()
    return results, memory
