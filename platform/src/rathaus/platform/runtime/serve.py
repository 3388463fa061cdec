"""``rathaus up`` (everything, embedded) and ``rathaus serve <module>`` (one module,
against configured NATS, Temporal and databases)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import uvicorn
from sqlalchemy.engine import make_url

from rathaus.platform.kernel.mail import portal_url
from rathaus.platform.kernel.settings import COMPONENTS, MODULE_NAMES, Settings
from rathaus.platform.runtime import natsauth
from rathaus.platform.runtime.archivpeer import TestArchive, peer_config
from rathaus.platform.runtime.idprovider import TestIdentityProvider, use_test_idp
from rathaus.platform.runtime.integrator_service import IntegratorService
from rathaus.platform.runtime.mailsink import MailSink
from rathaus.platform.runtime.natscluster import SERVERS_FILE, NatsCluster, embedded_cluster
from rathaus.platform.runtime.payprovider import TestPaymentProvider, use_test_provider
from rathaus.platform.runtime.platform import Gateway, OtherProcess, Platform
from rathaus.platform.runtime.processes import (
    ChildProcess,
    RuntimeProblem,
    free_port,
    module_process,
    nats_server,
    require_free,
    stopping,
    temporal_server,
)
from rathaus.platform.runtime.webhook_view import delivery_app

log = logging.getLogger("rathaus.runtime")


@contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """One embedded platform per data directory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = (data_dir / ".lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise RuntimeProblem(f"another Rathaus is already running on {data_dir}") from None
    try:
        yield
    finally:
        handle.close()


async def temporal_health(settings: Settings) -> dict[str, Any]:
    from temporalio.client import Client

    try:
        client = await asyncio.wait_for(
            Client.connect(settings.temporal.address, namespace=settings.temporal.namespace), 3
        )
        ok = await client.service_client.check_health()
        return {"ok": bool(ok), "address": settings.temporal.address}
    except Exception as exc:
        return {"ok": False, "address": settings.temporal.address, "error": str(exc) or type(exc).__name__}


def run_web(platform: Platform, settings: Settings, on_ready: Any = None) -> None:
    config = uvicorn.Config(
        Gateway(platform),
        host=settings.web.host,
        port=settings.web.port,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                break
            await asyncio.sleep(0.05)
        if server.started and on_ready is not None:
            on_ready()
        await task
        if not server.started:
            raise RuntimeProblem("the platform did not start; see the log above")

    # uvicorn re-raises Ctrl-C after its graceful shutdown: that is a normal stop
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


LOOPBACK = ("127.0.0.1", "::1", "0.0.0.0", "localhost")  # noqa: S104 - names compared, not bound


def urls(settings: Settings) -> dict[str, str]:
    """What ``rathaus up`` prints. A portal on the loopback is shown as ``localhost``:
    browsers take passkeys only on a name, never on an IP address, and the session cookie
    belongs to the name the citizen started with."""
    host = "localhost" if settings.web.host in LOOPBACK else settings.web.host
    base = settings.web.public_url or f"http://{host}:{settings.web.port}"
    return {
        "Portal (Bürgerinnen und Bürger)": f"{base}/",
        "Arbeitsplatz (Sachbearbeitung)": f"{base}/arbeitsplatz/",
        "Open-Data-Portal": f"{base}/opendaten/",
        "AsyncAPI": f"{base}/asyncapi.json",
        "Health": f"{base}/health",
        "Temporal UI": f"http://127.0.0.1:{settings.temporal.ui_port}/",
        "NATS": settings.nats.url,
    }


def check_procedures(settings: Settings) -> None:
    """The procedure files are read and checked before anything starts: an invalid one
    stops the start with the German report, and nothing is half-started."""
    from rathaus.platform.kernel.procedures import ProcedureProblems, load_procedures

    try:
        procedures = load_procedures(settings.procedure_dirs, settings.builtin_procedures)
    except ProcedureProblems as problems:
        raise RuntimeProblem(
            f"Die Verfahrensdateien enthalten {len(problems.problems)} Fehler; Rathaus startet nicht:\n"
            + "\n".join(f"  {p}" for p in problems.problems)
        ) from None
    from rathaus.platform.kernel.appointments import CalendarProblems, Calendars

    try:
        Calendars.load(procedures, settings.procedure_dirs, settings.builtin_procedures)
    except CalendarProblems as problems:
        raise RuntimeProblem(
            f"Die Terminkalender (standorte.toml) enthalten {len(problems.problems)} Fehler; "
            "Rathaus startet nicht:\n" + "\n".join(f"  {p}" for p in problems.problems)
        ) from None
    changed = pinned_versions_changed(settings, procedures)
    if changed:
        raise RuntimeProblem(
            "Verfahrensversionen, die Vorgänge verwenden, wurden geändert; Rathaus startet nicht:\n"
            + "\n".join(f"  {c}" for c in changed)
        )


def pinned_versions_changed(settings: Settings, procedures: Any) -> list[str]:
    """The versions the modules' SQLite databases pinned that are missing or changed: read
    before anything starts (a PostgreSQL database is checked when its module starts)."""
    import sqlite3

    from rathaus.platform.kernel.procedures import ProcedureChanged

    problems: list[str] = []
    for module in MODULE_NAMES:
        url = make_url(settings.database_url(module))
        if url.get_backend_name() != "sqlite" or not url.database or not Path(url.database).exists():
            continue
        with contextlib.closing(sqlite3.connect(f"file:{url.database}?mode=ro", uri=True)) as db:
            try:
                rows = db.execute("SELECT service_id, version, digest FROM rathaus_procedure_pins").fetchall()
            except sqlite3.OperationalError:
                continue  # a database from before pins existed
        for service_id, version, digest in rows:
            try:
                procedures.pinned(service_id, version, digest)
            except ProcedureChanged as change:
                problems.append(f"{module}: {change}")
    return list(dict.fromkeys(problems))


def portal_urls(settings: Settings) -> list[str]:
    """The URLs a browser may reach the portal at (for the test identity provider's redirect URIs)."""
    if settings.web.public_url:
        return [settings.web.public_url]
    urls = [f"http://{settings.web.host}:{settings.web.port}"]
    if settings.web.host in LOOPBACK:
        urls += [f"http://127.0.0.1:{settings.web.port}", f"http://localhost:{settings.web.port}"]
    return list(dict.fromkeys(urls))


def up(settings: Settings, out: TextIO) -> None:
    """Start nats-server, the Temporal dev server and all modules; stop them on Ctrl-C."""
    check_procedures(settings)
    data_dir = settings.data_dir.resolve()
    settings.data_dir = data_dir
    settings.nats.url = f"nats://127.0.0.1:{settings.nats.port}"  # the embedded server (or cluster, below)
    # never seed into a data dir, or PostgreSQL databases, that hold data
    fresh = not (data_dir / "db").exists() and not any(
        make_url(settings.database_url(m)).get_backend_name() == "postgresql"
        and not fresh_database(settings, m)
        for m in COMPONENTS
    )
    with data_dir_lock(data_dir):
        require_free(settings.web.port, "the web server", settings.web.host)
        require_free(settings.temporal.ui_port, "the Temporal UI")
        if settings.payment.url is None:
            require_free(settings.payment.port, "the test payment provider")
        wants_idp = not settings.identity.providers and settings.identity.test_provider
        if wants_idp:
            require_free(settings.identity.port, "the test identity provider")
        wants_archive = not settings.archive.configured() and settings.archive.test_archive
        if wants_archive:
            require_free(settings.archive.port, "the test archive")
        temporal_port = int(settings.temporal.address.rsplit(":", 1)[1])
        nats = embedded_nats(settings, data_dir)
        users = natsauth.credentials(data_dir)
        settings.nats.user, settings.nats.password = natsauth.PLATFORM_USER, users[natsauth.PLATFORM_USER]
        temporal = temporal_server(
            data_dir, temporal_port, settings.temporal.ui_port, settings.temporal.namespace
        )
        sink = None
        if settings.smtp.host is None:
            require_free(settings.smtp.port, "the local mail sink")
            sink = MailSink(data_dir, settings.smtp.port)
            sink.start()
            settings.smtp.host = "127.0.0.1"
        payprovider = None
        if settings.payment.url is None:  # never when a real provider is configured
            pay = settings.payment
            payprovider = TestPaymentProvider(data_dir, pay.port, [(pay.originator_id, pay.endpoint_id)])
        idprovider = None
        if wants_idp:  # never when a real identity provider is configured
            idprovider = TestIdentityProvider(data_dir, settings.identity.port)
            for url in portal_urls(settings):
                idprovider.allow_portal(url)
        archive = None
        if wants_archive:  # never when a real archive is configured
            archive = TestArchive(data_dir, settings.archive.port, peer_config(settings))
        try:
            if archive is not None:
                archive.start()
            if payprovider is not None:
                payprovider.start()
                use_test_provider(settings, payprovider)
            if idprovider is not None:
                idprovider.start()
                use_test_idp(settings, idprovider)
            nats.start()
            temporal.start(timeout=120)
            children: list[tuple[subprocess.Popen[bytes], OtherProcess]] = []
            problem: list[str] = []
            try:
                own, second = split_modules(settings)
                # both cores: the second group's processes start while this one does; with
                # --replicas, each group runs that many times (this process is the first
                # replica of its own), and only a group's first replica seeds the demo city
                for modules, replica in [
                    *((own, r) for r in range(1, settings.web.replicas)),
                    *((second, r) for r in range(settings.web.replicas) if second),
                ]:
                    port = free_port()
                    child = module_process(
                        modules,
                        data_dir,
                        port,
                        child_env(settings, port, replica=replica),
                        seed_demo=settings.seed_demo and fresh and replica == 0,
                    )
                    children.append((child, OtherProcess(f"http://127.0.0.1:{port}", modules, replica)))
                platform = Platform(settings, own)
                platform.others = [other for _, other in children]
                platform.seed_on_start = settings.seed_demo and fresh
                platform.extra_health["temporal"] = lambda: temporal_health(settings)
                if payprovider is not None:
                    platform.extra_health["payprovider"] = payprovider.health
                if idprovider is not None:
                    platform.extra_health["idprovider"] = idprovider.health
                if archive is not None:
                    platform.extra_health["archivpeer"] = archive.health
                integrators = IntegratorService(settings)  # durable consumers, webhooks
                platform.services.append(integrators)
                platform.extra_health["integratoren"] = integrators.health
                platform.extra_apps["/integratoren"] = delivery_app(data_dir)

                def ready() -> None:
                    for child, other in children:
                        failed = wait_until_serving(child, other)
                        if failed:
                            problem.append(failed)
                            os.kill(os.getpid(), signal.SIGINT)  # stop this process in order
                            return
                    out.write(f"Rathaus läuft (data dir {data_dir}).\n")
                    for name, url in urls(settings).items():
                        out.write(f"  {name:34} {url}\n")
                    out.write(
                        f"  {'NATS-Zugang für Integratoren':34} Benutzer {natsauth.INTEGRATOR_USER}, "
                        f"Passwort {users[natsauth.INTEGRATOR_USER]}\n"
                    )
                    if sink is not None:
                        out.write(f"  {'E-Mails (lokaler Mail-Server)':34} {sink.path}\n")
                    if payprovider is not None:
                        out.write(f"  {'Zahlungsanbieter (Test)':34} {payprovider.base_url}\n")
                    if idprovider is not None:
                        out.write(f"  {'Identitätsanbieter (Test)':34} {idprovider.base_url}\n")
                    if archive is not None:
                        out.write(f"  {'Archiv (Test-Archiv)':34} {archive.base_url}\n")
                    accounts = data_dir / "demo-zugaenge.txt"
                    if accounts.exists():
                        out.write(f"Demo-Zugänge (aus {accounts}):\n")
                        for line in accounts.read_text(encoding="utf-8").splitlines():
                            role, login, password, unit = [*line.split("\t"), "", "", ""][:4]
                            out.write(f"  {role:16} {login:34} Passwort {password:20} Einheit {unit}\n")
                    out.write("Beenden mit Strg-C.\n")
                    out.flush()

                run_web(platform, settings, ready)
            finally:
                with stopping("die weiteren Prozesse (rathaus serve)"):
                    stop_children([child for child, _ in children])
                with stopping("Temporal"):
                    temporal.stop()
            if problem:
                raise RuntimeProblem(problem[0])
        finally:
            with stopping("NATS"):
                nats.stop()
            if sink is not None:
                sink.stop()
            if payprovider is not None:
                payprovider.stop()
            if idprovider is not None:
                idprovider.stop()
            if archive is not None:
                archive.stop()
                archive.peer.close()
    out.write("Rathaus beendet.\n")


def embedded_nats(settings: Settings, data_dir: Path) -> ChildProcess | NatsCluster:
    """One nats-server, or with ``nats.cluster_nodes`` > 1 (``--nats-cluster 3``) a cluster
    of that many with R3 streams and consumers (R2 for two nodes); both read the users of
    ``natsauth`` and JetStream's ``nats.sync_interval``. Points ``nats.url`` at it."""
    config = natsauth.write_config(data_dir, sync_interval=settings.nats.sync_interval or "")
    size = settings.nats.cluster_nodes
    if size < 2:
        (data_dir / "nats" / SERVERS_FILE).unlink(missing_ok=True)
        return nats_server(data_dir, settings.nats.port, config=config)
    cluster = embedded_cluster(
        data_dir,
        size,
        settings.nats.port,
        settings.nats.cluster_port,
        sync_interval=settings.nats.sync_interval,
        include=config,
    )
    settings.nats.url = cluster.url
    settings.nats.replicas = min(size, 3)
    return cluster


def fresh_database(settings: Settings, module: str) -> bool:
    """True for a module whose SQLite file does not exist yet, or whose PostgreSQL database
    does not exist yet or was never migrated."""
    url = make_url(settings.database_url(module))
    if url.get_backend_name() == "postgresql":
        from rathaus.platform.kernel.db import postgres_database_is_new

        return asyncio.run(postgres_database_is_new(settings.database_url(module)))
    return url.get_backend_name() == "sqlite" and bool(url.database) and not Path(str(url.database)).exists()


def new_sqlite_database(settings: Settings, module: str) -> bool:
    """True for a module on SQLite whose file does not exist yet (nothing is connected to)."""
    url = make_url(settings.database_url(module))
    return url.get_backend_name() == "sqlite" and bool(url.database) and not Path(str(url.database)).exists()


def seeds_demo(settings: Settings, modules: tuple[str, ...], *, forced: bool = False) -> bool:
    """Whether `rathaus serve` seeds its modules' part of the demo city: into new SQLite
    databases only, or when asked to (``--seed-demo``: `rathaus up` on a fresh data dir
    starting its second process, a test or demo installation on PostgreSQL such as the
    containerised e2e backend; the seeds are idempotent and the data dir's marker keeps it
    to once). A production PostgreSQL database is never seeded unasked."""
    return forced or (settings.seed_demo and all(new_sqlite_database(settings, m) for m in modules))


def serve(settings: Settings, module: str, out: TextIO, *, seed_demo: bool = False) -> None:
    """One module alone, or a group of them (``eakte,output``): the distributed shape (NATS,
    Temporal, databases from settings), and the second process of `rathaus up`."""
    modules = tuple(dict.fromkeys(m.strip() for m in module.split(",") if m.strip()))
    unknown = [m for m in modules if m not in COMPONENTS]
    if unknown or not modules:
        raise RuntimeProblem(
            f"unknown module {', '.join(unknown) or module!r}; one of {', '.join(COMPONENTS)}"
        )
    check_procedures(settings)
    require_free(settings.web.port, f"module {module}", settings.web.host)
    platform = Platform(settings, modules)
    # like `rathaus up`, modules whose own databases are new get their part of the demo city
    platform.seed_on_start = seeds_demo(settings, modules, forced=seed_demo)
    platform.extra_health["temporal"] = lambda: temporal_health(settings)
    run_web(
        platform,
        settings,
        lambda: out.write(
            f"rathaus {','.join(modules)} on http://{settings.web.host}:{settings.web.port} (pid {os.getpid()})\n"
        ),
    )


# `rathaus up` on two cores: these run in a second process behind the same origin. The split
# weighs a case's work as measured under `rathaus bench` (top, 16 cases in flight): with
# output here too this process sat at 100 % of a core and the first at 15 %; as it is, 75 %
# and 65 %. The first has the portal's submissions, OCR in input management, rendering and
# sealing the Bescheid, the broker and open data; the second the E-Akte (filing, the audit
# chain, the staff workspace) and the Temporal worker of the case workflows.
SECOND_PROCESS = ("eakte", "orchestration")


def split_modules(settings: Settings) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The modules of `rathaus up`'s own process and of its second one (none with one process)."""
    if settings.web.processes < 2:
        return COMPONENTS, ()
    return tuple(m for m in COMPONENTS if m not in SECOND_PROCESS), SECOND_PROCESS


def child_env(settings: Settings, port: int, *, replica: int = 0) -> dict[str, str]:
    """The environment of a further process: exactly the settings this one runs with (the
    embedded servers' addresses and credentials included), each top-level field as JSON,
    on a port of the loopback, as replica ``replica`` of its modules."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    data = settings.model_dump(mode="json", exclude_none=True)
    # its own port on the loopback; links it builds for citizens (the payment provider's way
    # back, e-mails) lead to the origin the browser uses, this process's
    data["web"] = {
        **data["web"],
        "host": "127.0.0.1",
        "port": port,
        "processes": 1,
        "replicas": 1,
        "public_url": portal_url(settings),
    }
    if replica:
        # a group's first replica seeds its part of the demo city; a further one starting
        # beside it on the same new databases would seed it a second time, at once
        data["seed_demo"] = False
    for key, value in data.items():
        env[f"RATHAUS_{key.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    env["RATHAUS_CONFIG"] = os.devnull  # nothing from a rathaus.toml beside what this process read
    env["RATHAUS_REPLICA"] = str(replica)
    return env


def wait_until_serving(
    child: subprocess.Popen[bytes], other: OtherProcess, timeout: float = 180.0
) -> str | None:
    """Wait for a further process to answer (uvicorn listens once its modules started);
    the problem in German when it died or took too long."""
    port = int(other.base.rsplit(":", 1)[1])
    name = f"Der Prozess für {', '.join(other.modules)} (Replik {other.replica})"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            return f"{name} ist mit Code {child.returncode} beendet."
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return None
        except OSError:
            time.sleep(0.1)  # polling a port, not waiting for a fixed time
    return f"{name} antwortet nach {timeout:.0f} s nicht."


def stop_children(children: list[subprocess.Popen[bytes]], timeout: float = 30.0) -> None:
    """Stop the further processes as Ctrl-C would stop a module, all at once: gracefully,
    else killed."""
    running = [child for child in children if child.poll() is None]
    for child in running:
        child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in running:
        try:
            child.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
