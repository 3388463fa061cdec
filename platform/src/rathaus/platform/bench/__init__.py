"""``rathaus bench``: how close Rathaus comes to the limits of its own engines.

Sections (all on this machine, on the embedded stack, in one run):

- ``cases``: end-to-end cases/s through the running platform (``rathaus up``) with
  p50/p95/p99 of submission → filed and decision → delivered (see ``cases``);
- ``ceiling``: a bare Temporal workflow with the steps of a case on the same dev server;
- ``http``: durable submissions over HTTP (locust) against a bare Litestar endpoint;
- ``bus``: publish + consume through the kernel against raw nats-py;
- ``pdf``: typesetting (the kernel's ``write_pdf`` against WeasyPrint's default): documents/s
  and the growth of the process per 100 documents;
- ``termine``: appointment bookings/s and p99 (hold + book over HTTP, concurrent citizens);
- ``suche``: the E-Akte's full-text search on a generated corpus (default 1,000,000
  documents): index build time, size and documents/s, query latency p50/p95/p99;
- memory: the peak RSS of every process involved.

The figures are printed as one table and appended to BENCHMARKS.md with the date and
the machine. Targets are goals to report against, never asserts.
"""

from __future__ import annotations

import asyncio
import os
import platform as host
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

SECTIONS = ("cases", "ceiling", "http", "bus", "cluster", "production", "ocr", "pdf", "termine", "suche")


def pct(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu or host.machine()}), {mem:.0f} GiB, {host.system()} {host.release()}, Python {host.python_version()}"


def children(pid: int) -> list[tuple[int, str]]:
    """Direct child processes (pid, name) of a process."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == pid:
            out.append((int(entry.name), name))
    return out


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, what: str, figure: str, target: str = "", note: str = "") -> None:
        self.rows.append((what, figure, target, note))

    def markdown(self) -> str:
        lines = ["| what | figure | target | note |", "|---|---|---|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self.rows]
        return "\n".join(lines)


def _cli_user(platform: Any, *args: str) -> None:
    subprocess.run(  # noqa: S603 - our own command
        [str(Path(sys.executable).parent / "rathaus"), "users", *args, "--data-dir", str(platform.data_dir)],
        env=platform.env(),
        check=True,
        capture_output=True,
    )


def _bench_citizens(platform: Any) -> tuple[list[tuple[str, str]], dict[str, tuple[str, str]]]:
    """Four citizens made for the run, and a clerk's login per unit from the demo accounts."""
    citizens = []
    for i in range(4):
        email, password = f"bench-{i}@example.org", f"Bench-Passwort-{i:04d}"
        _cli_user(
            platform, "add-citizen", "--email", email, "--given-name", "Bench", "--family-name", "Mark",
            "--birth-date", "1980-01-01", "--password", password,
        )  # fmt: skip
        citizens.append((email, password))
    staff = {
        unit: (login, password)
        for role, login, password, unit in (
            line.split("\t") for line in (platform.data_dir / "demo-zugaenge.txt").read_text().splitlines()
        )
        if role == "sachbearbeitung"
    }
    return citizens, staff


async def _case_load(
    platform: Any, seconds: float, in_flight: int, table: Table, label: str, target: str
) -> Any:
    """The end-to-end load on a started platform; adds its cases/s and submission → filed
    rows under ``label`` and returns the run's figures."""
    from rathaus.platform.bench import cases

    citizens, staff = _bench_citizens(platform)
    e2e = await cases.run(
        platform.base_url, platform.nats_credentials(), citizens, staff, seconds=seconds, in_flight=in_flight
    )
    table.add(
        f"{label}: cases/s ({in_flight} in flight, {seconds:.0f} s)",
        f"{e2e.per_s:.2f} ({e2e.completed} delivered)",
        target,
        f"{len(e2e.errors)} errors" + (f": {e2e.errors[0]}" if e2e.errors else ""),
    )
    table.add(
        f"{label}: submission → filed p50 / p95 / p99",
        " / ".join(f"{pct(e2e.filed_latencies, p) * 1000:.0f} ms" for p in (50, 95, 99)),
    )
    return e2e


async def _production_shape(workdir: Path, seconds: float, in_flight: int, table: Table) -> None:
    """The end-to-end row again on the production shape: every module on a PostgreSQL
    server (a throw-away cluster, commits crash-safe) and a 3-node NATS cluster with R3
    streams and ``sync_interval: always``, first with one process per group of modules,
    then with two replicas of each (``rathaus up --replicas 2``: four module processes,
    the web front taking them in turn) — all on this one machine."""
    from rathaus.platform.runtime.embedded import EmbeddedPlatform
    from rathaus.platform.testing import PostgresCluster

    server = PostgresCluster(crash_safe=True)
    server.start()
    try:
        for replicas in (1, 2):
            platform = EmbeddedPlatform(workdir / f"production-{replicas}", nats_cluster=3, replicas=replicas)
            platform.postgres = f"{server.server_url}/bench{replicas}"
            platform.extra_env["RATHAUS_NATS__SYNC_INTERVAL"] = "always"
            try:
                platform.start()
                shape = (
                    "production stores" if replicas == 1 else f"production shape, {replicas} replicas each"
                )
                label = f"{shape} (PostgreSQL + 3-node NATS, R3, sync always)"
                await _case_load(platform, seconds, in_flight, table, label, "compare: end to end (embedded)")
            finally:
                platform.stop()
    finally:
        server.stop()


async def _cases_and_ceiling(
    workdir: Path, seconds: float, in_flight: int, sections: set[str], table: Table, memory: dict[str, int]
) -> None:
    from rathaus.platform.bench import ceiling
    from rathaus.platform.bench.http import rss_peak_kib
    from rathaus.platform.runtime.embedded import EmbeddedPlatform

    platform = EmbeddedPlatform(workdir / "platform")
    platform.start()
    try:
        e2e = None
        if "cases" in sections:
            e2e = await _case_load(platform, seconds, in_flight, table, "end to end", "≥ 0.8 × ceiling")
            table.add(
                "decision → delivered p50 / p95 / p99",
                " / ".join(f"{pct(e2e.delivery_latencies, p) * 1000:.0f} ms" for p in (50, 95, 99)),
            )
            for service_id, figures in e2e.by_service.items():
                table.add(
                    f"… of which {service_id}: cases/s, submission → filed p99",
                    f"{figures.per_s:.2f} ({figures.completed}), "
                    f"{pct(figures.filed_latencies, 99) * 1000:.0f} ms",
                )
        if "ceiling" in sections:
            bare = await ceiling.run(
                f"127.0.0.1:{platform.temporal_port}", "default", seconds=seconds, in_flight=in_flight
            )
            table.add(
                f"ceiling: bare workflow/s, 7 activities, 5 signals, 2 timers ({in_flight} in flight)",
                f"{bare.per_s:.2f} (p50 {statistics.median(bare.latencies) * 1000:.0f} ms)"
                if bare.latencies
                else "0",
            )
            if e2e is not None and bare.per_s:
                table.add("Rathaus / ceiling", f"{e2e.per_s / bare.per_s:.2f}", "≥ 0.8")
        assert platform.proc is not None
        platform_kib = memory["rathaus up (portal, input, broker, open data, web front)"] = rss_peak_kib(
            platform.proc.pid
        )
        for pid, name in children(platform.proc.pid):
            label = "rathaus serve eakte,orchestration (second process)" if name == "rathaus" else name
            memory[f"{label} (embedded)"] = kib = rss_peak_kib(pid)
            platform_kib += kib
        memory["the embedded platform in sum (all its processes; the sum of their peaks)"] = platform_kib
    finally:
        platform.stop()


async def _run(args: Any, out: TextIO) -> Table:
    from rathaus.platform.bench import bus, http
    from rathaus.platform.bench.http import rss_peak_kib

    sections = set(args.only or SECTIONS)
    table = Table()
    memory: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="rathaus-bench-") as tmp:
        workdir = Path(tmp)
        if sections & {"cases", "ceiling"}:
            out.write("cases and ceiling …\n")
            out.flush()
            try:
                await _cases_and_ceiling(workdir, args.duration, args.in_flight, sections, table, memory)
            except Exception as exc:  # a failed section is reported; the others still run
                table.add("cases and ceiling", "failed", "", f"{type(exc).__name__}: {exc}"[:300])
        if "production" in sections:
            out.write("cases on PostgreSQL and a 3-node NATS cluster, one and two replicas …\n")
            out.flush()
            try:
                await _production_shape(workdir, args.duration, args.in_flight, table)
            except Exception as exc:
                table.add("production stores", "failed", "", f"{type(exc).__name__}: {exc}"[:300])
        if "http" in sections:
            out.write("durable submissions over HTTP …\n")
            out.flush()
            try:
                results, mem = await asyncio.to_thread(
                    http.run, workdir, users=args.concurrency, seconds=int(args.http_duration)
                )
            except Exception as exc:
                results, mem = [], {}
                table.add("durable submissions over HTTP", "failed", "", f"{type(exc).__name__}: {exc}"[:300])
            memory.update(mem)
            by_name = {r.name: r for r in results}
            for r in results:
                label = "portal: durable submissions" if r.name == "Citizen" else "bare Litestar endpoint"
                table.add(
                    f"{label} ({args.concurrency} concurrent users)",
                    f"{r.per_s:.0f} req/s, p50 {r.p50_ms:.0f} ms, p99 {r.p99_ms:.0f} ms",
                    "≥ 1000 req/s, p99 ≤ 50 ms" if r.name == "Citizen" else "",
                    f"{r.failures} failures of {r.requests}",
                )
            if by_name.get("Bare") and by_name.get("Citizen") and by_name["Bare"].per_s:
                table.add("portal / bare", f"{by_name['Citizen'].per_s / by_name['Bare'].per_s:.2f}")
        if "bus" in sections:
            out.write("bus …\n")
            out.flush()
            b = await bus.run(args.messages)
            table.add(
                f"bus: kernel publish + consume ({b.messages} events)", f"{b.kernel_per_s:.0f} events/s"
            )
            table.add("bus: raw nats-py publish + consume", f"{b.raw_per_s:.0f} events/s")
            table.add("kernel / raw", f"{b.ratio:.2f}", "≥ 0.7")
        if "cluster" in sections:
            out.write("bus on a 3-node NATS cluster …\n")
            out.flush()
            c = await bus.run_cluster(args.messages)
            table.add(
                f"bus on a 3-node NATS cluster, R3 ({c.messages} events): kernel publish + consume",
                f"{c.default_per_s:.0f} events/s",
                "",
                "the server's default fsync (every 2 minutes)",
            )
            table.add(
                "the same with nats.sync_interval = always",
                f"{c.always_per_s:.0f} events/s",
                "",
                f"fsync before every ack costs {c.cost:.0%} of the throughput",
            )
        if "ocr" in sections:
            out.write("OCR …\n")
            out.flush()
            from rathaus.platform.bench import ocr

            try:
                ocr.rows(await asyncio.to_thread(ocr.run, args.ocr_pages), table)
            except Exception as exc:
                table.add("OCR", "failed", "", f"{type(exc).__name__}: {exc}"[:300])
        if "pdf" in sections:
            out.write("typesetting PDFs …\n")
            out.flush()
            from rathaus.platform.bench import pdf

            try:
                typeset = await asyncio.to_thread(pdf.run, args.pdf_documents)
            except Exception as exc:
                table.add("typesetting PDFs", "failed", "", f"{type(exc).__name__}: {exc}"[:300])
            else:
                for p in typeset:
                    way = (
                        "the kernel's write_pdf (one font configuration, one document at a time)"
                        if p.way == "kernel"
                        else "WeasyPrint's default (a font configuration per document, all at once)"
                    )
                    table.add(
                        f"PDFs, 4 threads asking: {way}",
                        f"{p.per_s:.1f} documents/s",
                        "",
                        f"RSS +{p.growth_kib_per_100 / 1024:.1f} MiB per 100 documents after "
                        f"{pdf.WARM_UP}, peak {p.peak_kib / 1024:.0f} MiB",
                    )
        if "suche" in sections:
            out.write(f"search: {args.search_docs} documents …\n")
            out.flush()
            from rathaus.platform.bench import suche

            try:
                found = await asyncio.to_thread(
                    suche.run, workdir, docs=args.search_docs, queries=args.search_queries
                )
            except Exception as exc:
                table.add("search", "failed", "", f"{type(exc).__name__}: {exc}"[:300])
            else:
                memory["E-Akte search benchmark (corpus, index, queries)"] = suche.rows(found, table)
        if "termine" in sections:
            out.write("appointment bookings …\n")
            out.flush()
            from rathaus.platform.bench import appointments

            try:
                rates = tuple(float(r) for r in str(args.booking_rates).split(",") if r.strip())
                t, offered = await asyncio.to_thread(
                    appointments.run,
                    workdir,
                    users=args.concurrency,
                    seconds=args.booking_duration,
                    rates=rates,
                )
            except Exception as exc:
                table.add("appointment bookings", "failed", "", f"{type(exc).__name__}: {exc}"[:300])
            else:
                table.add(
                    f"appointment bookings: hold + book over HTTP ({args.concurrency} concurrent citizens)",
                    f"{t.per_s:.0f} bookings/s, p50 {pct(t.latencies, 50) * 1000:.0f} ms, "
                    f"p99 {pct(t.latencies, 99) * 1000:.0f} ms",
                    "≥ 200 bookings/s, p99 ≤ 100 ms",
                    f"{t.booked} booked, {t.refused} refused, {len(t.errors)} errors"
                    + (f": {t.errors[0]}" if t.errors else ""),
                )
                for o in offered:
                    table.add(
                        f"appointment bookings offered at {o.offered_per_s:.0f}/s (open loop, latency from the due time)",
                        f"{o.per_s:.0f} bookings/s, p50 {pct(o.latencies, 50) * 1000:.0f} ms, "
                        f"p99 {pct(o.latencies, 99) * 1000:.0f} ms",
                        "p99 ≤ 100 ms at 200/s",
                        f"{o.booked} booked, {o.errors} errors",
                    )
                memory["portal (appointment section)"] = t.rss_kib
    memory["rathaus bench (this process: load drivers, ceiling worker, bus)"] = rss_peak_kib(os.getpid())
    for name, kib in memory.items():
        table.add(f"peak RSS: {name}", f"{kib / 1024:.0f} MiB")
    return table


def run(args: Any, out: TextIO) -> int:
    started = datetime.now().astimezone()
    table = asyncio.run(_run(args, out))
    command = "rathaus bench " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "rathaus bench"
    text = table.markdown()
    out.write(text + "\n")
    if args.output:
        path = Path(args.output)
        entry = f"\n## {started:%Y-%m-%d %H:%M %Z}: `{command}`\n\nMachine: {machine()}.\n\n{text}\n"
        with path.open("a", encoding="utf-8") as f:
            f.write(entry)
        out.write(f"appended to {path}\n")
    return 0
