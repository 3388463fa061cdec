"""The demo city as an e2e test uses it over the wire: citizens on the portal's JSON API
and pages, staff on the workspace API, an integrator on NATS, Bescheide from the Postkorb."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pypdfium2
import pytest

from e2e.containers import BACKEND_ENV, ContainerPlatform, backend, docker_problem
from rathaus.platform.bench.cases import citizen_session
from rathaus.platform.kernel.procedures import Definition, Procedures
from rathaus.platform.runtime.payprovider.controls import choose
from rathaus.platform.testing import (
    HISTORIES_ENV,
    EmbeddedPlatform,
    IntegratorClient,
    eventually,
    record_histories,
)

DATA = Path(__file__).parent / "data"
SCAN = DATA / "fahrzeugschein-scan.pdf"
TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')
DOWNLOAD = re.compile(r'href="(/postkorb/[0-9a-f-]+/herunterladen)"[^>]*>Bescheid ([^ ]+) herunterladen')


def started(
    tmp_path_factory: Any,
    *,
    deadline_scale: float = 1.0,
    env: dict[str, str] | None = None,
    containers: bool = False,
) -> Iterator[EmbeddedPlatform]:
    """``rathaus up`` on a fresh data dir for a module's tests (yield from it in a fixture).
    A suite that passes ``containers=True`` runs in containers instead when
    RATHAUS_E2E_BACKEND=containers (e2e/containers.py), and is skipped, saying why, when
    no Docker engine answers; the other suites run as local processes either way."""
    platform: Any
    if containers and backend() == "containers":
        problem = docker_problem()
        if problem:
            pytest.skip(f"{BACKEND_ENV}=containers, but no Docker engine can be reached: {problem}")
        platform = ContainerPlatform(tmp_path_factory.mktemp("stadt") / "rathaus")
    else:
        platform = EmbeddedPlatform(tmp_path_factory.mktemp("stadt") / "rathaus")
    platform.deadline_scale = deadline_scale
    platform.extra_env.update(env or {})
    platform.start()
    try:
        yield platform
    finally:
        if os.environ.get(HISTORIES_ENV):  # the cases of this module's tests, for the replay test
            asyncio.run(record_histories(f"127.0.0.1:{platform.temporal_port}"))
        platform.stop()


def accounts(platform: EmbeddedPlatform) -> list[list[str]]:
    """The demo accounts of a fresh data dir: role, login, password, unit."""
    lines = (platform.data_dir / "demo-zugaenge.txt").read_text(encoding="utf-8").splitlines()
    return [[*line.split("\t"), "", "", ""][:4] for line in lines]


def demo_citizen(platform: EmbeddedPlatform) -> tuple[str, str]:
    """Erika Mustermann: verified, and in the synthetic registers."""
    return next((login, password) for role, login, password, _ in accounts(platform) if role == "buergerin")


def staff(platform: EmbeddedPlatform, unit: str, role: str = "sachbearbeitung") -> tuple[str, str]:
    for r, login, password, u in accounts(platform):
        if r == role and u == unit:
            return login, password
    raise AssertionError(f"no demo account for {role} in {unit}")


def photo() -> bytes:
    """A small photograph (a PNG), for a file field that takes images only."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (350, 450), (180, 190, 200)).save(out, format="PNG")
    return out.getvalue()


def example(definition: Definition) -> dict[str, Any]:
    """The service's example submission, its files replaced by real ones the portal's content
    check and input management's OCR accept: the scan (PDF), or a photo where only images go."""
    path = definition.path.parent / f"beispiel-v{definition.version}.json"
    body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    for nachweis in body.get("nachweise", []):
        node = definition.node(nachweis["art"])
        pdf = "application/pdf" in node.element.media_types
        data, name = (SCAN.read_bytes(), "pdf") if pdf else (photo(), "png")
        nachweis.update(dateiname=f"{nachweis['art']}.{name}", inhalt_base64=base64.b64encode(data).decode())
    return body


async def form_post(
    http: httpx.AsyncClient, page: str, data: dict[str, str], target: str | None = None
) -> httpx.Response:
    """Submit a portal form as a browser does: the CSRF token of the page it came from."""
    match = TOKEN.search((await http.get(page)).text)
    assert match, page
    return await http.post(target or page, data={**data, "_csrf_token": match.group(1)})


async def create_organisation(http: httpx.AsyncClient, name: str) -> str:
    """An Unternehmenskonto through the portal's pages; the creator becomes its admin."""
    r = await form_post(
        http,
        "/konto/unternehmen/neu",
        {
            "name": name,
            "legal_form": "GmbH",
            "register_number": "HRB 281734",
            "street": "Zenettistraße",
            "house_number": "12",
            "postal_code": "80337",
            "city": "München",
        },
    )
    assert r.status_code == 303, r.text[:500]
    found = re.search(r"/konto/unternehmen/([0-9a-f-]{36})", r.headers["location"])
    assert found, r.headers["location"]
    return found.group(1)


class City:
    """A running platform and the people who use it."""

    def __init__(self, platform: EmbeddedPlatform) -> None:
        self.platform = platform
        dirs = json.loads(platform.extra_env.get("RATHAUS_PROCEDURE_DIRS", "[]"))
        self.procedures = Procedures.load([Path(d) for d in dirs])
        self.integrator = IntegratorClient()

    async def __aenter__(self) -> City:
        await self.integrator.connect(**self.platform.nats_credentials("integrator"))
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.integrator.close()

    async def citizen(self, login: tuple[str, str] | None = None) -> httpx.AsyncClient:
        email, password = login or demo_citizen(self.platform)
        return await citizen_session(self.platform.base_url, email, password)

    def clerk(self, unit: str, role: str = "sachbearbeitung") -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.platform.base_url, auth=staff(self.platform, unit, role), timeout=60
        )

    async def apply(self, http: httpx.AsyncClient, body: dict[str, Any]) -> str:
        """Submit over the JSON API; the case id."""
        case_id = str(uuid.uuid4())
        r = await http.post("/api/antraege", json={**body, "vorgangsnummer": case_id})
        assert r.status_code == 201, r.text
        return case_id

    async def payment(self, http: httpx.AsyncClient, case_id: str, status: str = "offen") -> dict[str, Any]:
        """The case's payment as "Meine Anträge" shows it, once it has this status."""
        found: dict[str, Any] = {}

        async def shown() -> bool:
            zahlung = (await http.get(f"/api/antraege/{case_id}")).json().get("zahlung")
            if zahlung and zahlung["status"] == status:
                found.update(zahlung)
                return True
            return False

        await eventually(shown, timeout=120, interval=0.3)
        return found

    async def pay(self, http: httpx.AsyncClient, case_id: str, choice: str = "bezahlen") -> dict[str, Any]:
        """The citizen pays the fee on the test provider's page and is sent back to the
        portal; the payment as the portal shows it once the provider's status is in."""
        offen = await self.payment(http, case_id)
        back = await choose(offen["zahlungsseite"], choice)
        assert back.status_code == 303, back.text
        location = back.headers["location"]
        assert location.endswith(f"/antraege/{case_id}/zahlung"), location
        r = await http.get(location.removeprefix(self.platform.base_url))
        assert r.status_code == 303 and "zurueck=1" in r.headers["location"], r.status_code
        expected = {"bezahlen": "bezahlt", "abbrechen": "abgebrochen", "fehlschlagen": "fehlgeschlagen"}
        return await self.payment(http, case_id, expected[choice])

    async def visit(self, http: httpx.AsyncClient, case_id: str, service_id: str) -> dict[str, str]:
        """A service that needs a visit: the citizen books an appointment for the case in
        the portal's plain pages (the first free time at the first Bürgerbüro), and the
        Bürgerbüro's staff check her in on their day view. Returns the appointment."""
        r = await http.get(f"/termine/{service_id}?fall={case_id}")
        assert r.status_code == 200, r.text
        location = re.search(rf'action="/termine/{service_id}/([^"]+)"', r.text)
        assert location, r.text
        days = (await http.get(f"/termine/{service_id}/{location.group(1)}?fall={case_id}&personen=1")).text
        day = re.search(rf'href="(/termine/{service_id}/{location.group(1)}/[0-9-]+\?[^"]*)"', days)
        assert day, days
        times = (await http.get(day.group(1).replace("&amp;", "&"))).text
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', times))
        start = re.search(r'name="beginn" value="([^"]+)"', times)
        assert start and form.get("fall") == case_id, times
        form |= {"beginn": start.group(1), "nonce": ""}  # no proof of work: as without JavaScript
        r = await http.post("/termine/reservieren", data=form)
        assert r.status_code == 303, r.text
        hold = r.headers["location"]
        token = TOKEN.search((await http.get(hold)).text)
        assert token
        r = await http.post(
            hold,
            data={"_csrf_token": token.group(1), "name": "Erika Mustermann", "email": "erika@example.org"},
        )
        assert r.status_code == 303, r.text
        appointment = {"location": location.group(1), "day": start.group(1)[:10]}
        definition = self.procedures.current(service_id)
        assert definition is not None
        await self.check_in(case_id, appointment, definition.procedure.unit)
        return appointment

    async def check_in(self, case_id: str, appointment: dict[str, str], unit: str) -> None:
        """Staff of the case's unit, logged in to the workspace, press "Eingecheckt" on the
        Bürgerbüro's day view for the case's appointment."""
        login, password = staff(self.platform, unit)
        async with httpx.AsyncClient(base_url=self.platform.base_url, timeout=60) as ws:
            page = (await ws.get("/arbeitsplatz/anmelden")).text
            token = TOKEN.search(page)
            assert token
            r = await ws.post(
                "/arbeitsplatz/anmelden",
                data={"_csrf_token": token.group(1), "username": login, "password": password},
            )
            assert r.status_code in (302, 303), r.text
            row: dict[str, str] = {}
            path = f"/arbeitsplatz/termine?standort={appointment['location']}&tag={appointment['day']}"

            async def listed() -> bool:
                text = (await ws.get(path)).text
                for tr in text.split("<tr")[1:]:
                    found = re.search(
                        r'action="/arbeitsplatz/termine/([^"]+)/eingecheckt">.*?name="_csrf_token" value="([^"]+)"',
                        tr,
                        re.S,
                    )
                    if found and case_id in tr:
                        row.update(id=found.group(1), token=found.group(2))
                        return True
                return False

            await eventually(listed, timeout=60, interval=0.5)
            r = await ws.post(
                f"/arbeitsplatz/termine/{row['id']}/eingecheckt",
                data={
                    "_csrf_token": row["token"],
                    "standort": appointment["location"],
                    "tag": appointment["day"],
                },
            )
            assert r.status_code in (200, 302, 303), r.text

    async def waiting(
        self, clerk: httpx.AsyncClient, case_id: str, path: str = "/arbeitsplatz/api/vorgaenge"
    ) -> dict[str, Any]:
        """The case as a unit's inbox lists it, once it waits for that unit."""
        found: dict[str, Any] = {}

        async def listed() -> bool:
            for case in (await clerk.get(path)).json():
                if case["case_id"] == case_id and (
                    case.get("status") == "zur_entscheidung" or case.get("cosign_status") == "offen"
                ):
                    found.update(case)
                    return True
            return False

        await eventually(listed, timeout=180, interval=0.5)
        return found

    async def decide(self, unit: str, case_id: str, outcome: str = "granted") -> None:
        async with self.clerk(unit) as clerk:
            await self.waiting(clerk, case_id)
            r = await clerk.post(
                f"/arbeitsplatz/api/vorgaenge/{case_id}/entscheidung",
                json={"outcome": outcome, "reasons": "Die Voraussetzungen liegen vor (Ende-zu-Ende-Test)."},
            )
            assert r.status_code == 201, r.text

    async def cosign(self, unit: str, case_id: str) -> None:
        async with self.clerk(unit) as clerk:
            await self.waiting(clerk, case_id, "/arbeitsplatz/api/mitzeichnungen")
            r = await clerk.post(
                f"/arbeitsplatz/api/vorgaenge/{case_id}/mitzeichnung", json={"action": "mitgezeichnet"}
            )
            assert r.status_code == 201, r.text

    async def delivered(self, case_id: str) -> dict[str, Any]:
        """The case's DecisionDelivered as an integrator receives it."""

        async def arrived() -> bool:
            return any(
                e["type"].endswith("output.decision.delivered.v1") for e in self.integrator.for_case(case_id)
            )

        await eventually(arrived, timeout=240, interval=0.5)
        event = next(
            e for e in self.integrator.for_case(case_id) if e["type"].endswith("output.decision.delivered.v1")
        )
        data: dict[str, Any] = event["data"]
        return data

    async def bescheid(self, http: httpx.AsyncClient, aktenzeichen: str) -> str:
        """The text of the Bescheid in the Postkorb (PDF/A, extracted with pdfium)."""
        links: dict[str, str] = {}

        async def in_postkorb() -> bool:
            links.update({az: href for href, az in DOWNLOAD.findall((await http.get("/postkorb")).text)})
            return aktenzeichen in links

        await eventually(in_postkorb, timeout=60, interval=0.5)
        r = await http.get(links[aktenzeichen])
        assert r.status_code == 200 and r.content.startswith(b"%PDF"), r.status_code
        document = pypdfium2.PdfDocument(io.BytesIO(r.content))
        return " ".join(document[i].get_textpage().get_text_range() for i in range(len(document)))

    async def counted(self, dataset: str) -> dict[str, Any]:
        """The dataset's totals once applications and grants are in it (a count of 1 or 2 is
        suppressed, so "gesperrt" says that the case is counted without saying how often)."""
        totals: dict[str, Any] = {}
        async with httpx.AsyncClient(base_url=self.platform.base_url, timeout=30) as http:

            async def published() -> bool:
                r = await http.get(f"/opendaten/datasets/{dataset}/fallzahlen.json")
                if r.status_code != 200:
                    return False
                totals.update(r.json()["summen"]["insgesamt"])
                return all(totals.get(k) or totals.get(f"{k}_gesperrt") for k in ("antraege", "bewilligt"))

            await eventually(published, timeout=60, interval=0.5)
        return totals
