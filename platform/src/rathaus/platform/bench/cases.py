"""End to end: real cases of two services through the running platform.

Citizens submit over the portal's JSON API (``POST /api/antraege``), alternating two
services of different shape: the Bewohnerparkausweis with the vehicle registration
attached (a small PNG, so input management really runs OCR on it), and the Hundesteuer
with two dogs (a repeating group, the yearly tax computed by the rules). A benchmark
decider per responsible unit, a staff client using the workspace API as a person would
(``GET /arbeitsplatz/api/vorgaenge``, ``POST …/entscheidung``), grants every case that
waits for a decision. An observer subscribed to the platform's events timestamps each
case's steps. ``in_flight`` cases are kept going (a new one is submitted when one is
delivered), so the figures are those of a platform that always has that much work.

- submission → filed: from the API's 201 answer to the status ``zur_entscheidung`` (the
  case is opened in the E-Akte, its documents are read and filed, and it lies in the
  unit's inbox);
- decision → delivered: from the decider's 201 answer to ``DecisionDelivered`` (the
  Bescheid rendered, sealed, filed, in the Postkorb, the e-mail sent).
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import nats

from rathaus.platform.runtime.payprovider.controls import AutoPayer

TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')
STATUS_SUBJECT = "rathaus.platform.case.status-changed.v1"
DELIVERED_SUBJECT = "rathaus.output.decision.delivered.v1"
ANGABEN = {
    "given_name": "Bench",
    "family_name": "Mark",
    "birth_date": "1980-01-01",
    "street": "Zenettistraße",
    "house_number": "12",
    "postal_code": "80337",
    "kennzeichen": "M-BM 2026",
    "halter": "ja",
}
DOGS = {
    "art": "anmeldung",
    "vorname": "Bench",
    "familienname": "Mark",
    "geburtsdatum": "1980-01-01",
    "strasse": "Zenettistraße",
    "hausnummer": "12",
    "postleitzahl": "80337",
    "bereits_gemeldet": 0,
    "hunde": [
        {"hundename": "Bruno", "rasse": "labrador_retriever", "haltung_seit": "2026-09-01"},
        {"hundename": "Kira", "rasse": "pudel", "haltung_seit": "2026-10-01"},
    ],
}


@dataclass(frozen=True)
class Service:
    """A service in the benchmark's mix: what a citizen sends, which unit decides."""

    service_id: str
    unit: str
    angaben: dict[str, Any]
    nachweise: tuple[tuple[str, str, bytes], ...] = ()  # (file field, file name, content)

    def body(self, case_id: str) -> dict[str, Any]:
        return {
            "service_id": self.service_id,
            "vorgangsnummer": case_id,
            "angaben": self.angaben,
            "nachweise": [
                {"art": art, "dateiname": name, "inhalt_base64": base64.b64encode(data).decode()}
                for art, name, data in self.nachweise
            ],
        }


def mix() -> list[Service]:
    return [
        Service(
            "bewohnerparkausweis",
            "KVR-III/12",
            ANGABEN,
            (("fahrzeugschein", "fahrzeugschein.png", vehicle_scan()),),
        ),
        Service("hundesteuer", "SKA-2/21", DOGS),
    ]


def vehicle_scan() -> bytes:
    """A small scan of a vehicle registration: an image input management has to OCR."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (900, 260), 255)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(("Zulassungsbescheinigung Teil I", "Kennzeichen M-BM 2026", "Halter: Mark")):
        draw.text((30, 30 + 70 * i), line, fill=0, font_size=40)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@dataclass
class CaseTimes:
    service_id: str = ""
    submitted: float = 0.0
    filed: float = 0.0
    decided: float = 0.0
    delivered: float = 0.0


@dataclass
class Figures:
    """Cases delivered in the measuring window, and their latencies."""

    seconds: float
    completed: int = 0
    filed_latencies: list[float] = field(default_factory=list)
    delivery_latencies: list[float] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0

    def count(self, t: CaseTimes) -> None:
        self.completed += 1
        if t.filed:
            self.filed_latencies.append(t.filed - t.submitted)
        if t.decided:
            self.delivery_latencies.append(t.delivered - t.decided)


@dataclass
class CasesResult(Figures):
    in_flight: int = 0
    submitted: int = 0
    errors: list[str] = field(default_factory=list)
    by_service: dict[str, Figures] = field(default_factory=dict)


async def citizen_session(base_url: str, email: str, password: str) -> httpx.AsyncClient:
    """Log in through the portal's login form, as a browser does; the cookie carries the session."""
    http = httpx.AsyncClient(base_url=base_url, timeout=60)
    page = (await http.get("/konto/anmelden")).text
    match = TOKEN.search(page)
    if match is None:
        raise RuntimeError("the login page has no CSRF token")
    r = await http.post(
        "/konto/anmelden", data={"email": email, "password": password, "_csrf_token": match.group(1)}
    )
    if r.status_code != 303:
        raise RuntimeError(f"citizen login failed ({r.status_code})")
    return http


async def run(
    base_url: str,
    nats_options: dict[str, Any],
    citizens: list[tuple[str, str]],
    staff: dict[str, tuple[str, str]],
    *,
    seconds: float,
    in_flight: int,
    warmup: float = 15.0,
    services: list[Service] | None = None,
) -> CasesResult:
    """``staff``: unit -> a clerk's login; ``services``: the mix (default: ``mix()``), one
    service per case in turn."""
    services = services or mix()
    result = CasesResult(seconds, in_flight=in_flight)
    result.by_service = {s.service_id: Figures(seconds) for s in services}
    times: dict[str, CaseTimes] = {}
    done: dict[str, asyncio.Event] = {}

    nc = await nats.connect(**nats_options)

    async def observe(msg: Any) -> None:
        event = msgspec.json.decode(msg.data)
        case = times.get(event.get("subject") or "")
        if case is None:
            return
        if msg.subject == STATUS_SUBJECT and event["data"]["status"] == "zur_entscheidung" and not case.filed:
            case.filed = time.monotonic()
        elif msg.subject == DELIVERED_SUBJECT and not case.delivered:
            case.delivered = time.monotonic()
            done[event["subject"]].set()

    await nc.subscribe(STATUS_SUBJECT, cb=observe)
    await nc.subscribe(DELIVERED_SUBJECT, cb=observe)
    sessions = [await citizen_session(base_url, e, p) for e, p in citizens]
    # a fee (the Bewohnerparkausweis') is paid at once on the test provider's page, and the
    # citizen's browser comes back to the portal
    payer = AutoPayer(nats_options, portal=sessions[0])
    await payer.start()
    deciders = [
        httpx.AsyncClient(base_url=base_url, timeout=60, auth=staff[unit])
        for unit in {s.unit for s in services}
    ]
    stop = asyncio.Event()

    async def decide(decider: httpx.AsyncClient) -> None:
        while not stop.is_set():
            try:
                r = await decider.get("/arbeitsplatz/api/vorgaenge")
                r.raise_for_status()
            except httpx.HTTPError as exc:  # a clerk whose inbox did not load looks again
                result.errors.append(f"inbox: {exc}")
                await asyncio.sleep(1.0)
                continue
            for case in r.json():
                t = times.get(case["case_id"])
                if t is None or t.decided or case["status"] != "zur_entscheidung":
                    continue
                d = await decider.post(
                    f"/arbeitsplatz/api/vorgaenge/{case['case_id']}/entscheidung",
                    json={"outcome": "granted", "reasons": "Die Voraussetzungen liegen vor (Benchmark)."},
                )
                if d.status_code in (201, 409):
                    t.decided = time.monotonic()
                else:
                    result.errors.append(f"decision {d.status_code}: {d.text[:200]}")
            await asyncio.sleep(0.1)  # a person would look at the inbox again; not a wait for a result

    measuring_from = time.monotonic() + warmup
    deadline = measuring_from + seconds

    async def citizen(http: httpx.AsyncClient, slot: int) -> None:
        turn = slot
        while time.monotonic() < deadline:
            service = services[turn % len(services)]
            turn += 1
            case_id = str(uuid.uuid4())
            times[case_id] = CaseTimes(service.service_id)
            done[case_id] = asyncio.Event()
            r = await http.post("/api/antraege", json=service.body(case_id))
            if r.status_code != 201:
                result.errors.append(f"submission {r.status_code}: {r.text[:300]}")
                del times[case_id]
                await asyncio.sleep(1.0)
                continue
            t = times[case_id]
            t.submitted = time.monotonic()
            result.submitted += 1
            remaining = deadline - time.monotonic() + 120  # let the last cases finish
            try:
                await asyncio.wait_for(done[case_id].wait(), timeout=max(remaining, 1))
            except TimeoutError:
                result.errors.append(f"case {case_id} not delivered in time")
                continue
            if measuring_from <= t.delivered <= deadline:
                result.count(t)
                result.by_service[t.service_id].count(t)

    decider_tasks = [asyncio.create_task(decide(d)) for d in deciders]
    try:
        await asyncio.gather(*(citizen(sessions[i % len(sessions)], i) for i in range(in_flight)))
    finally:
        stop.set()
        await asyncio.gather(*decider_tasks)
        await payer.stop()
        result.errors.extend(payer.errors)
        for http in (*sessions, *deciders):
            await http.aclose()
        await nc.close()
    return result
