"""Small procedures of the E-Akte's tests, written to a temporary directory (the real ones
are data of their own), and the E-Akte on a real nats-server with the modules that talk
to it stood in by kernels that only emit: the portal, input management, the workflow."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nats
import pytest

from rathaus.contracts.common import Address, Person
from rathaus.contracts.common_v2 import Organisation, Party
from rathaus.contracts.envelope import Event
from rathaus.contracts.platform.v1 import FictionReached, RequestDecision
from rathaus.contracts.portal.v2 import ApplicationSubmitted
from rathaus.eakte import PREFIX, TITLE
from rathaus.eakte.bootstrap import bootstrap
from rathaus.platform.browser import serve_asgi
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.web import create_module_app
from rathaus.platform.testing import eventually

HEAD = """
version = 1
valid_from = "2026-01-01"
summary = "Ein Verfahren der Tests der E-Akte."
lebenslagen = ["Test"]
"""
TAIL = """
[open_data]
dataset = "{id}"
title = "Test"
summary = "Test"
"""

# A clerk decides; a second unit co-signs; the fee is computed from repeated rows.
MITZEICHNUNG = """
id = "test-mitzeichnung"
title = "Testflächen auf öffentlichem Grund"
unit = "BAU-T/31"
aktenplan = "661.20"
legal_basis = "Art. 18 BayStrWG"
applicants = ["person", "organisation"]

[fee]
field = "gebuehr"
payment = "after_decision"

[decision]
cosign = ["KVR-III/11"]
reasons = "Die Nutzung beeinträchtigt den Verkehr nicht unzumutbar."

[template_texts]
granted = "<p>Erlaubt.</p>"
refused = "<p>Abgelehnt.</p>"

[constants]
satz = 2.5

[[form]]
name = "vorhaben"
kind = "group"
label = "Vorhaben"

[[form]]
name = "art"
parent = "vorhaben"
kind = "select"
label = "Art der Nutzung"
codelist = "test-nutzungsarten"

[[form]]
name = "beginn"
parent = "vorhaben"
label = "Beginn"
datatype = "date"

[[form]]
name = "ende"
parent = "vorhaben"
label = "Ende"
datatype = "date"

[[form]]
name = "ort"
parent = "vorhaben"
kind = "group"
label = "Ort der Nutzung"

[[form]]
name = "strasse"
parent = "ort"
label = "Straße"

[[form]]
name = "flaechen"
parent = "vorhaben"
kind = "group"
label = "Flächen"
multiplicity = "1:5"
row_label = "Fläche"

[[form]]
name = "bezeichnung"
parent = "flaechen"
label = "Bezeichnung"

[[form]]
name = "quadratmeter"
parent = "flaechen"
label = "Größe in m²"
datatype = "num"

[[form]]
name = "gebuehr"
parent = "vorhaben"
kind = "locked"
label = "Gebühr"
datatype = "num_currency"
compute = "summe(flaechen, quadratmeter) * (ende - beginn + 1) * satz"
"""

NUTZUNGSARTEN = """
id = "test-nutzungsarten"
version = "2026-01"
title = "Nutzungsarten (Test)"

[[values]]
code = "container"
name = "Absetzcontainer"

[[values]]
code = "geruest"
name = "Baugerüst"
"""

# Decided by the system when its rule holds (§ 35a VwVfG); only a grant exists.
AUTOMATISCH = """
id = "test-automatisch"
title = "Testbescheinigung"
unit = "KVR-II/11"
aktenplan = "102.21"

[fee]
cents = 1000
payment = "before"

[decision]
mode = "automatic"
automatic_if = "exemplare <= 3"
refusable = false

[template_texts]
granted = "<p>Bescheinigung.</p>"

[[form]]
name = "angaben"
kind = "group"
label = "Angaben"

[[form]]
name = "exemplare"
parent = "angaben"
label = "Anzahl der Exemplare"
datatype = "num_int"

[[form]]
name = "zweck"
parent = "angaben"
label = "Zweck"
"""

# Granted by fiction when not decided in time (§ 42a VwVfG); a business applies.
FIKTION = """
id = "test-fiktion"
title = "Testerlaubnis mit Fiktion"
unit = "KVR-I/21"
aktenplan = "811.30"
applicants = ["organisation"]

[fee]
cents = 25000

[decision]
fiction_days = 90
fiction_basis = "§ 6a Abs. 1 GewO i. V. m. § 42a VwVfG"
valid_days = 1825

[template_texts]
granted = "<p>Erteilt.</p>"
refused = "<p>Versagt.</p>"

[[form]]
name = "betrieb"
kind = "group"
label = "Betrieb"

[[form]]
name = "taetigkeit"
parent = "betrieb"
label = "Tätigkeit"
"""

FILES = {
    "test-mitzeichnung/v1.toml": MITZEICHNUNG,
    "test-automatisch/v1.toml": AUTOMATISCH,
    "test-fiktion/v1.toml": FIKTION,
}
NOW = datetime.now(UTC).isoformat()
ERIKA = Person(given_name="Erika", family_name="Mustermann", birth_date="1964-08-12")
ZENETTI = Address(street="Zenettistraße", house_number="12", postal_code="80337")


def write_procedures(folder: Path) -> Path:
    for name, text in FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        service = name.split("/")[0]
        path.write_text(HEAD + text + TAIL.replace("{id}", service), encoding="utf-8")
    codelists = folder / "codelisten"
    codelists.mkdir(exist_ok=True)
    (codelists / "test-nutzungsarten.toml").write_text(NUTZUNGSARTEN, encoding="utf-8")
    return folder


@pytest.fixture
def procedure_dir(tmp_path: Path) -> Path:
    return write_procedures(tmp_path / "leistungen")


@pytest.fixture
def office_settings(settings: Settings, procedure_dir: Path) -> Settings:
    return settings.model_copy(update={"procedure_dirs": [procedure_dir]})


def person() -> Party:
    return Party(person=ERIKA, address=ZENETTI, email="erika@example.org", account_id="acc-erika")


def business() -> Party:
    return Party(
        person=ERIKA,
        organisation=Organisation(
            organisation_id="org-1", name="Mustermann Bau GmbH", legal_form="GmbH", register_number="HRB 4711"
        ),
        address=ZENETTI,
        email="bau@example.org",
        account_id="acc-erika",
    )


@dataclass
class Office:
    """The E-Akte and kernels that emit what portal, input and workflow would send."""

    settings: Settings
    eakte: Kernel
    app: ModuleApp
    portal: Kernel
    input: Kernel
    workflow: Kernel
    seen: list[dict[str, Any]] = field(default_factory=list)

    person = staticmethod(person)
    business = staticmethod(business)

    @staticmethod
    def anonymous(email: str = "") -> Party:
        return Party(email=email)

    def of(self, kind: str, case_id: str | None = None) -> list[dict[str, Any]]:
        """Events seen by type suffix, e.g. ``case.opened.v1``."""
        return [
            e
            for e in self.seen
            if e["type"] == f"de.rathaus.eakte.{kind}" and (case_id is None or e["subject"] == case_id)
        ]

    async def wait_for(self, kind: str, case_id: str) -> dict[str, Any]:
        async def there() -> bool:
            return bool(self.of(kind, case_id))

        await eventually(there, timeout=30)
        return self.of(kind, case_id)[0]["data"]

    async def emit(self, kernel: Kernel, event: Event, case_id: str) -> None:
        async with kernel.transaction() as uow:
            await uow.emit(event, subject=case_id)

    async def submit(
        self, service_id: str, data: dict[str, Any], applicant: Party | None = None, **extra: Any
    ) -> str:
        case_id = str(uuid.uuid4())
        definition = self.eakte.procedures.get(service_id, 1)
        event = ApplicationSubmitted(
            case_id=case_id,
            service_id=service_id,
            service_version=1,
            procedure_digest=definition.digest,
            applicant=applicant or person(),
            data=data,
            submitted_at=NOW,
            **extra,
        )
        await self.emit(self.portal, event, case_id)
        return case_id

    async def request_decision(self, case_id: str, mode: str = "clerk") -> None:
        due = "2026-12-31T12:00:00+00:00"
        await self.emit(
            self.workflow, RequestDecision(case_id=case_id, unit="", due_at=due, mode=mode), case_id
        )

    async def fiction(self, case_id: str, basis: str, deadline: str) -> None:
        await self.emit(
            self.workflow, FictionReached(case_id=case_id, unit="", basis=basis, deadline=deadline), case_id
        )

    def login_of(self, unit: str, role: str = "sachbearbeitung") -> tuple[str, str]:
        for line in (self.settings.data_dir / "demo-zugaenge.txt").read_text().splitlines():
            r, user, password, u = line.split("\t")
            if u == unit and r == role:
                return user, password
        raise AssertionError(f"no {role} account for {unit}")

    def web(self) -> Any:
        return create_module_app(
            self.eakte, prefix=PREFIX, title=TITLE, routes=self.app.routes, templates=self.app.templates
        )


@pytest.fixture
async def office(office_settings: Settings) -> AsyncIterator[Office]:
    settings = office_settings
    eakte = Kernel("eakte", settings)
    app = bootstrap(eakte)
    await eakte.start(app, seed=True)
    others = [Kernel(name, settings) for name in ("portal", "input", "platform")]
    for kernel in others:
        await kernel.start(ModuleApp())
    world = Office(settings, eakte, app, *others)
    nc = await nats.connect(settings.nats.url)

    async def collect(msg: Any) -> None:
        world.seen.append(msgspec.json.decode(msg.data))

    await nc.subscribe("rathaus.eakte.>", cb=collect)
    yield world
    await nc.close()
    for kernel in reversed(others):
        await kernel.stop(ModuleApp())
    await eakte.stop(app)


TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')


class Clerk:
    """A member of staff in the workspace over HTTP: cookies, the CSRF token of each page."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.http = client

    async def token(self, path: str) -> str:
        page = (await self.http.get(path)).text
        match = TOKEN.search(page)
        assert match, page[:1000]
        return match.group(1)

    async def post(self, path: str, data: dict[str, str], page: str | None = None) -> httpx.Response:
        token = await self.token(page or path)
        return await self.http.post(path, data={**data, "_csrf_token": token})

    async def login(self, username: str, password: str) -> httpx.Response:
        return await self.post(f"{PREFIX}/anmelden", {"username": username, "password": password})


@pytest.fixture
async def served(office: Office) -> AsyncIterator[str]:
    """The workspace on a real port in this event loop (where the consumers run)."""
    async with serve_asgi(office.web()) as base:
        yield base


@pytest.fixture
async def clerk_of(office: Office, served: str) -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    async def login(unit: str, role: str = "sachbearbeitung") -> Clerk:
        client = httpx.AsyncClient(base_url=served, follow_redirects=True, timeout=30)
        clients.append(client)
        clerk = Clerk(client)
        response = await clerk.login(*office.login_of(unit, role))
        assert "Vorgänge der Einheit" in response.text, response.text[:500]
        return clerk

    yield login
    for client in clients:
        await client.aclose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The test's settings with the E-Akte on SQLite, or on a PostgreSQL cluster of its own."""
    if request.param == "postgresql":
        settings.databases["eakte"] = request.getfixturevalue("postgres_url")
    return settings
