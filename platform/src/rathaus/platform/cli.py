"""The ``rathaus`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from rathaus.platform.kernel.settings import COMPONENTS, MODULE_NAMES, Settings, load_settings
from rathaus.platform.runtime.processes import RuntimeProblem


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    if getattr(args, "postgres", None):
        overrides["postgres"] = args.postgres
    settings = load_settings(**overrides)
    if getattr(args, "port", None) and args.command not in ("payprovider", "idprovider", "archivpeer"):
        settings.web.port = args.port
    if getattr(args, "nats_cluster", None):
        settings.nats.cluster_nodes = args.nats_cluster
    if getattr(args, "replicas", None):
        settings.web.replicas = args.replicas
    users = settings.data_dir / "nats" / "users.json"
    if settings.nats.user is None and users.exists():  # the embedded platform's NATS
        from rathaus.platform.runtime import natsauth

        settings.nats.user = natsauth.PLATFORM_USER
        settings.nats.password = natsauth.credentials(settings.data_dir)[natsauth.PLATFORM_USER]
        from rathaus.platform.runtime.natscluster import embedded_servers

        # the embedded cluster's nodes when `rathaus up --nats-cluster` runs on this data dir,
        # and its replicas: a command that declares the streams must not scale them down
        cluster = embedded_servers(settings.data_dir)
        settings.nats.url = cluster or f"nats://127.0.0.1:{settings.nats.port}"
        if cluster:
            settings.nats.replicas = min(len(cluster.split(",")), 3)
    return settings


async def _deadletters(settings: Settings, args: argparse.Namespace) -> int:
    import nats

    from rathaus.platform.kernel.deadletters import list_dead_letters, replay

    nc = await nats.connect(settings.nats.servers(), user=settings.nats.user, password=settings.nats.password)
    try:
        letters = await list_dead_letters(nc, args.consumer)
        if args.action == "list":
            if not letters:
                print("no dead letters")
            for dl in letters:
                when = datetime.fromtimestamp(dl.failed_at, UTC).isoformat(timespec="seconds")
                print(
                    f"{dl.seq:>6}  {when}  {dl.consumer:8}  {dl.event_type}  id={dl.event_id}  "
                    f"deliveries={dl.deliveries}\n        {dl.error}"
                )
            return 0
        chosen = [dl for dl in letters if args.all or dl.seq in args.seq]
        if not chosen:
            print("nothing to replay (give sequence numbers from `list`, or --all)", file=sys.stderr)
            return 1
        for dl in chosen:
            await replay(nc, dl)
            print(f"replayed {dl.seq} to {dl.consumer}: {dl.event_type} id={dl.event_id}")
        return 0
    finally:
        await nc.close()


async def _abgleich(settings: Settings, day: str) -> int:
    """Start the reconciliation workflow for a day and wait for it: the E-Akte then lists the
    exceptions on its page "Zahlungsabgleich"."""
    import uuid
    from datetime import date

    from temporalio.client import Client

    if day:
        date.fromisoformat(day)  # a ValueError is reported as a problem
    client = await Client.connect(settings.temporal.address, namespace=settings.temporal.namespace)
    count: int = await client.execute_workflow(
        "ReconciliationWorkflow",
        day,
        id=f"abgleich-{day or 'gestern'}-{uuid.uuid4().hex[:8]}",
        task_queue=settings.temporal.task_queue,
        result_type=int,
    )
    print(f"Zahlungsabgleich {day or '(gestern)'}: {count} Transaktionen des Zahlungsanbieters gemeldet.")
    return 0


async def _aussonderung(settings: Settings, archive: str, verfahren: str) -> int:
    """Start the Aussonderung now (the schedule does it every night): the E-Akte offers the
    files whose retention ended to the archive; the page "Aussonderung" shows the run."""
    import uuid

    from temporalio.client import Client

    if archive and archive != settings.archive.code:
        raise RuntimeProblem(
            f"Archiv {archive!r} ist nicht eingerichtet (eingerichtet: {settings.archive.code!r})."
        )
    client = await Client.connect(settings.temporal.address, namespace=settings.temporal.namespace)
    day: str = await client.execute_workflow(
        "AussonderungWorkflow",
        args=[archive, verfahren, "befehl"],
        id=f"aussonderung-befehl-{uuid.uuid4().hex[:8]}",
        task_queue=settings.temporal.task_queue,
        result_type=str,
    )
    print(
        f"Aussonderung {day} angestoßen (Archiv {archive or settings.archive.code}): die E-Akte bietet die "
        "Vorgänge mit abgelaufener Aufbewahrung an; den Stand zeigt die Seite „Aussonderung“ im Arbeitsplatz."
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rathaus", description="Rathaus: digital services of a city")
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start the whole platform on its embedded defaults")
    p_up.add_argument("--data-dir", help="where all data lives (default ./.rathaus)")
    p_up.add_argument("--port", type=int, help="web port (default 8000)")
    p_up.add_argument(
        "--postgres",
        metavar="URL",
        help="a PostgreSQL server (postgresql://user@host:5432/rathaus) instead of SQLite files: "
        "each module gets its database rathaus_<module> there, created when missing",
    )
    p_up.add_argument(
        "--nats-cluster",
        type=int,
        metavar="N",
        help="start N nats-server nodes as one JetStream cluster, streams with 3 replicas "
        "(clients on nats.port … nats.port+N-1, routes on nats.cluster_port …; default 1 node)",
    )
    p_up.add_argument(
        "--replicas",
        type=int,
        choices=range(1, 5),
        metavar="N",
        help="run every module in N processes (replicas; the web front takes them in turn, "
        "a replica that is away is passed over); meant with --postgres (default 1)",
    )
    p_serve = sub.add_parser("serve", help="run one module against configured NATS, Temporal, database")
    p_serve.add_argument(
        "module", help=f"one of {', '.join(COMPONENTS)}, or several with commas (eakte,output) in one process"
    )
    p_serve.add_argument("--data-dir")
    p_serve.add_argument("--port", type=int)
    p_serve.add_argument(
        "--seed-demo",
        action="store_true",
        help="seed the demo city even into PostgreSQL databases (tests and demos; never production)",
    )
    p_pay = sub.add_parser(
        "payprovider", help="run the test payment provider alone (XBezahldienste; no money moves)"
    )
    p_pay.add_argument("--port", type=int, help="its port (default payment.port, 8091)")
    p_pay.add_argument("--data-dir", help="where its transactions live (<data-dir>/payprovider)")
    p_pay.add_argument("--originator", help="the accepted originatorId (default payment.originator_id)")
    p_pay.add_argument("--endpoint", help="the accepted endPointId (default payment.endpoint_id)")
    p_pay.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address it listens on (default the loopback; 0.0.0.0 inside a container)",
    )
    p_idp = sub.add_parser(
        "idprovider", help="run the test identity provider alone (OpenID Connect; no real BundID)"
    )
    p_idp.add_argument("--port", type=int, help="its port (default identity.port, 8092)")
    p_idp.add_argument("--data-dir", help="where its keys live (<data-dir>/idprovider)")
    p_idp.add_argument("--portal-url", help="the portal it accepts as relying party (default web settings)")
    p_abgleich = sub.add_parser(
        "abgleich", help="reconcile one day's payments now (the schedule does it every night at 02:30)"
    )
    p_abgleich.add_argument("--tag", default="", help="the day, YYYY-MM-DD (default: yesterday)")
    p_abgleich.add_argument("--data-dir")
    p_auss = sub.add_parser(
        "aussonderung", help="offer the files whose retention ended to the archive now (nightly at 03:15)"
    )
    p_auss.add_argument("--archiv", default="", help="the archive's code (default: the configured one)")
    p_auss.add_argument(
        "--verfahren",
        default="",
        choices=["", "auto", "vierstufig", "zweistufig"],
        help="default: archive.verfahren",
    )
    p_auss.add_argument("--data-dir")
    p_arch = sub.add_parser(
        "archivpeer", help="run the Test-Archiv alone (xdomea Aussonderung; not a real archive)"
    )
    p_arch.add_argument("--port", type=int, help="its port (default archive.port, 8093)")
    p_arch.add_argument("--data-dir", help="where it keeps what it received (<data-dir>/archivpeer)")
    p_dl = sub.add_parser("deadletters", help="inspect and replay dead letters")
    p_dl.add_argument("action", choices=["list", "replay"])
    p_dl.add_argument("seq", nargs="*", type=int, help="sequence numbers to replay")
    p_dl.add_argument("--all", action="store_true", help="replay every listed dead letter")
    p_dl.add_argument("--consumer", choices=MODULE_NAMES, help="only this module's dead letters")
    p_dl.add_argument("--data-dir")
    p_services = sub.add_parser("services", help="check and list the procedures (services as data)")
    p_services.add_argument("action", choices=["check", "list"])
    p_services.add_argument(
        "--dir", action="append", default=[], help="another directory of procedures (repeatable)"
    )
    p_services.add_argument("--data-dir")
    p_trace = sub.add_parser("trace", help="print one case's spans across modules as a tree")
    p_trace.add_argument("case_id")
    p_trace.add_argument("--data-dir")
    p_bench = sub.add_parser("bench", help="measure cases/s, the Temporal ceiling, HTTP and bus throughput")
    p_bench.add_argument(
        "--duration", type=float, default=180.0, help="seconds of end-to-end load (default 180)"
    )
    p_bench.add_argument("--in-flight", type=int, default=16, help="cases kept in flight (default 16)")
    p_bench.add_argument("--concurrency", type=int, default=32, help="concurrent HTTP users (default 32)")
    p_bench.add_argument(
        "--http-duration", type=float, default=30.0, help="seconds per HTTP run (default 30)"
    )
    p_bench.add_argument("--messages", type=int, default=5000, help="events in the bus run (default 5000)")
    p_bench.add_argument("--ocr-pages", type=int, default=8, help="scanned pages in the OCR run (default 8)")
    p_bench.add_argument(
        "--booking-duration", type=float, default=10.0, help="seconds of appointment bookings (default 10)"
    )
    p_bench.add_argument(
        "--booking-rates",
        default="50,100,200",
        help="offered booking rates per second for the open-loop rows, comma-separated ('' = none)",
    )
    p_bench.add_argument(
        "--search-docs", type=int, default=1_000_000, help="documents in the search corpus (default 1000000)"
    )
    p_bench.add_argument("--search-queries", type=int, default=2000, help="timed searches (default 2000)")
    p_bench.add_argument(
        "--pdf-documents", type=int, default=200, help="documents per way in the PDF run (default 200)"
    )
    p_bench.add_argument(
        "--only",
        action="append",
        choices=[
            "cases",
            "ceiling",
            "http",
            "bus",
            "cluster",
            "production",
            "ocr",
            "pdf",
            "termine",
            "suche",
        ],
    )
    p_bench.add_argument("--output", default="BENCHMARKS.md", help="append the table here ('' = do not)")
    p_bench.add_argument(
        "--smoke",
        action="store_true",
        help="a short bus and HTTP run; fails when a ratio is below its floor (bench/floors.toml)",
    )
    from rathaus.platform.runtime import audit, commands, integrator_commands

    commands.add_parser(sub)
    audit.add_parser(sub)
    integrator_commands.add_parser(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "faststream", "faststream.access.nats"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command in ("up", "serve"):
        from rathaus.platform.runtime.processes import two_malloc_arenas

        two_malloc_arenas()
    try:
        settings = _settings(args)
        if args.command == "up":
            from rathaus.platform.runtime.serve import up

            up(settings, sys.stdout)
            return 0
        if args.command == "payprovider":
            from rathaus.platform.runtime.payprovider import run_foreground

            pay = settings.payment
            endpoint = (args.originator or pay.originator_id, args.endpoint or pay.endpoint_id)
            run_foreground(
                settings.data_dir.resolve(), args.port or pay.port, [endpoint], sys.stdout, host=args.host
            )
            return 0
        if args.command == "idprovider":
            from rathaus.platform.runtime.idprovider import run_foreground as run_idp
            from rathaus.platform.runtime.serve import portal_urls

            portal = args.portal_url or portal_urls(settings)[0]
            run_idp(settings.data_dir.resolve(), args.port or settings.identity.port, portal, sys.stdout)
            return 0
        if args.command == "serve":
            from rathaus.platform.runtime.serve import serve

            serve(settings, args.module, sys.stdout, seed_demo=args.seed_demo)
            return 0
        if args.command == "abgleich":
            return asyncio.run(_abgleich(settings, args.tag))
        if args.command == "aussonderung":
            return asyncio.run(_aussonderung(settings, args.archiv, args.verfahren))
        if args.command == "archivpeer":
            from rathaus.platform.runtime.archivpeer import TestArchive, peer_config

            settings.data_dir = settings.data_dir.resolve()
            archive = TestArchive(
                settings.data_dir, args.port or settings.archive.port, peer_config(settings)
            )
            archive.run(sys.stdout)
            return 0
        if args.command == "deadletters":
            return asyncio.run(_deadletters(settings, args))
        if args.command == "services":
            from rathaus.platform.runtime.services import run_services

            return run_services(settings, args, sys.stdout, sys.stderr)
        if args.command == "integrators":
            return integrator_commands.run(settings, args, sys.stdout)
        if args.command == "users":
            print(commands.run(settings, args))
            return 0
        if args.command == "audit":
            return audit.run(settings, args, sys.stdout, sys.stderr)
        if args.command == "eakte":
            print(commands.run_eakte(settings, args))
            return 0
        if args.command == "bench":
            if args.smoke:
                from rathaus.platform.bench import smoke

                return smoke.run(sys.stdout)
            from rathaus.platform import bench

            return bench.run(args, sys.stdout)
        if args.command == "trace":
            from rathaus.platform.runtime.trace import print_trace

            return print_trace(settings.data_dir, args.case_id, sys.stdout)
    except (RuntimeProblem, ValueError, LookupError) as problem:
        print(f"rathaus: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def run() -> None:
    """The console entry point: ``main``, then an exit that cannot abort.

    After a Temporal worker has shut down, CPython's own finalisation can abort the process
    ("PyGILState_Release", exit code 134) although everything stopped cleanly. Everything
    that matters is closed by then, so flush the output and leave without finalisation.
    """
    code = main()
    from rathaus.platform.kernel.telemetry import shutdown_providers

    shutdown_providers()  # os._exit skips atexit: export the last spans first
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
