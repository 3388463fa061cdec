"""Appointment bookings under concurrent load, over HTTP against the portal alone
(``rathaus serve portal`` on SQLite, as in the embedded default).

A booking is what a citizen's browser does after choosing a time: POST the reservation (a
hold: the seats of the visit taken in one transaction) and POST the contact data (the seats
made permanent, ``AppointmentBooked`` committed to the outbox, the confirmation e-mail with
its ICS attempted: no mail server runs here, so the attempt fails fast and the booking
stands). The bench city has one Bürgerbüro with many counters so that the load measures
the engine, not a full calendar; its limits against bots are lifted (the bench comes from
one address) and it sends no proof of work (that costs the client, not the server).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from rathaus.platform.bench.http import _wait_http, rss_peak_kib
from rathaus.platform.runtime.processes import free_port, nats_server

BIN = Path(sys.executable).parent
TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')
CITY = """
[protection]
queries_per_minute = 100000000
bookings_per_hour = 100000000
bookings_without_challenge_per_hour = 100000000

[[locations]]
id = "bench-buero"
name = "Bürgerbüro Bench"
unit = "KVR-II/11"
counters = 40
slot_minutes = 10
book_from_days = 1
book_until_days = 60
holidays_closed = false
max_open_per_service = 100000000
address = { street = "Benchstraße 1", postal_code = "80331", city = "München" }
hours = { mo = ["06:00-22:00"], di = ["06:00-22:00"], mi = ["06:00-22:00"], do = ["06:00-22:00"], fr = ["06:00-22:00"], sa = ["06:00-22:00"], so = ["06:00-22:00"] }
services = [{ service = "personalausweis", minutes_per_person = 10 }]
"""


@dataclass
class BookingResult:
    booked: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # hold + book, seconds
    seconds: float = 0.0
    rss_kib: int = 0

    @property
    def per_s(self) -> float:
        return self.booked / self.seconds if self.seconds else 0.0


def _starts() -> list[str]:
    tz = ZoneInfo("Europe/Berlin")
    first = datetime.now(tz).date() + timedelta(days=2)
    out = []
    for d in range(50):
        day: date = first + timedelta(days=d)
        out += [f"{day.isoformat()}T{h:02d}:{m:02d}" for h in range(6, 22) for m in range(0, 60, 10)]
    return out


async def _load(base: str, users: int, seconds: float) -> BookingResult:
    result = BookingResult()
    starts = _starts()
    counter = iter(range(10**9))
    deadline = time.monotonic() + seconds

    async def citizen(i: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False) as http:
            page = await http.get(f"/termine/personalausweis/bench-buero/{starts[0][:10]}")
            found = TOKEN.search(page.text)
            if found is None:
                result.errors.append(f"no form: {page.status_code}")
                return
            token = found.group(1)
            while time.monotonic() < deadline:
                start = starts[next(counter) // 30 % len(starts)]  # 30 bookings per slot of 40 counters
                began = time.perf_counter()
                r = await http.post(
                    "/termine/reservieren",
                    data={"_csrf_token": token, "leistung": "personalausweis", "standort": "bench-buero",
                          "personen": "1", "beginn": start},
                )  # fmt: skip
                if r.status_code != 303:
                    result.refused += 1
                    if r.status_code >= 500:
                        result.errors.append(f"hold {r.status_code}")
                    continue
                r = await http.post(
                    r.headers["location"],
                    data={"_csrf_token": token, "name": f"Bench {i}", "email": f"bench-{i}@example.org"},
                )
                if r.status_code == 303:
                    result.booked += 1
                    result.latencies.append(time.perf_counter() - began)
                else:
                    result.errors.append(f"book {r.status_code}")

    began = time.monotonic()
    await asyncio.gather(*(citizen(i) for i in range(users)))
    result.seconds = time.monotonic() - began
    return result


@dataclass
class OfferedResult:
    """Bookings started at a fixed rate, whatever the answers (open loop): the latency is
    counted from the moment a booking was due, so a server that falls behind shows it in
    the p99 instead of slowing the load down (no coordinated omission)."""

    offered_per_s: float
    booked: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def per_s(self) -> float:
        return self.booked / self.seconds if self.seconds else 0.0


async def _offered(base: str, rate: float, seconds: float, first: int) -> OfferedResult:
    """Book at ``rate`` per second for ``seconds``, each booking on a free client of a pool."""
    result = OfferedResult(rate)
    starts = _starts()
    pool: asyncio.Queue[tuple[httpx.AsyncClient, str]] = asyncio.Queue()
    clients = []
    for _ in range(max(8, int(rate))):  # enough clients that a slow answer never holds one back
        http = httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False)
        clients.append(http)
        page = await http.get(f"/termine/personalausweis/bench-buero/{starts[0][:10]}")
        found = TOKEN.search(page.text)
        if found is None:
            raise RuntimeError(f"no booking form: {page.status_code}")
        pool.put_nowait((http, found.group(1)))

    async def book(n: int, due: float) -> None:
        http, token = await pool.get()
        try:
            start = starts[(first + n) // 30 % len(starts)]
            r = await http.post(
                "/termine/reservieren",
                data={"_csrf_token": token, "leistung": "personalausweis", "standort": "bench-buero",
                      "personen": "1", "beginn": start},
            )  # fmt: skip
            if r.status_code == 303:
                r = await http.post(
                    r.headers["location"],
                    data={"_csrf_token": token, "name": f"Offen {n}", "email": f"offen-{n}@example.org"},
                )
            if r.status_code == 303:
                result.booked += 1
                result.latencies.append(time.perf_counter() - due)
            else:
                result.errors += 1
        except httpx.HTTPError:
            result.errors += 1
        finally:
            pool.put_nowait((http, token))

    tasks = []
    began = time.perf_counter()
    for n in range(int(rate * seconds)):
        due = began + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)  # the load's clock, not a wait in a test
        tasks.append(asyncio.create_task(book(n, due)))
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - began
    for http in clients:
        await http.aclose()
    return result


def run(
    workdir: Path, *, users: int = 16, seconds: float = 10.0, rates: tuple[float, ...] = ()
) -> tuple[BookingResult, list[OfferedResult]]:
    """Start nats-server and the portal, book for ``seconds`` with ``users`` concurrent
    citizens (closed loop), then at each offered rate for ``seconds`` (open loop)."""
    data_dir = workdir / "termine"
    city = data_dir / "stadt"
    city.mkdir(parents=True, exist_ok=True)
    (city / "standorte.toml").write_text(CITY, encoding="utf-8")
    nats_port, portal_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update(
        {
            "RATHAUS_NATS__URL": f"nats://127.0.0.1:{nats_port}",
            "RATHAUS_SEED_DEMO": "false",
            "RATHAUS_SECRET_KEY": "bench-secret-bench-secret-bench-secret-0",
            "RATHAUS_PROCEDURE_DIRS": f'["{city}"]',
            "RATHAUS_SMTP__HOST": "127.0.0.1",
            "RATHAUS_SMTP__PORT": str(free_port()),  # nobody listens: the mail fails fast
        }
    )
    server = nats_server(data_dir / "nats", nats_port)
    server.start()
    proc = subprocess.Popen(  # noqa: S603 - our own command
        [str(BIN / "rathaus"), "serve", "portal", "--data-dir", str(data_dir), "--port", str(portal_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "portal.log").open("wb"),
    )
    try:
        _wait_http(f"http://127.0.0.1:{portal_port}/health", proc)
        base = f"http://127.0.0.1:{portal_port}"
        result = asyncio.run(_load(base, users, seconds))
        offered = []
        first = result.booked + result.refused + 30 * 600  # later slots than the closed loop took
        for rate in rates:
            offered.append(asyncio.run(_offered(base, rate, seconds, first)))
            first += int(rate * seconds) + 30 * 600
        result.rss_kib = rss_peak_kib(proc.pid)
        return result, offered
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        server.stop()
