"""The first case through all six modules: a resident parking permit
(Bewohnerparkausweis), from the citizen's application to the Bescheid in the
Postkorb, in real Chromium against the platform running as real processes."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pypdfium2
import pytest

from rathaus.platform.browser import assert_accessible, chromium
from rathaus.platform.testing import EmbeddedPlatform, IntegratorClient, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
SCAN = Path(__file__).parent / "data" / "fahrzeugschein-scan.pdf"
PERSONAL_MARKERS = ("Mustermann", "Erika", "Zenettistraße", "M-EM 1964", "@example.org")
MODULES = ("portal", "input", "eakte", "output", "broker", "opendata")


def demo_login(platform: EmbeddedPlatform, unit: str, role: str = "sachbearbeitung") -> tuple[str, str]:
    for line in (platform.data_dir / "demo-zugaenge.txt").read_text(encoding="utf-8").splitlines():
        r, login, password, u = line.split("\t")
        if r == role and u == unit:
            return login, password
    raise AssertionError(f"no demo account for {role} in {unit}")


def rathaus(platform: EmbeddedPlatform, *args: str) -> str:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rathaus"), *args, "--data-dir", str(platform.data_dir)],
        env=platform.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


class Visit:
    """A browser page that checks every page it lands on with axe-core."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base, self.visited = page, base, []

    async def check(self) -> None:
        await self.page.wait_for_load_state("networkidle")
        self.visited.append(self.page.url)
        await assert_accessible(self.page)

    async def goto(self, path: str) -> None:
        await self.page.goto(self.base + path)
        await self.check()

    async def click(self, role: str, name: str) -> None:
        await self.page.get_by_role(role, name=name).first.click()
        await self.check()


async def citizen_applies(
    browser: Any, platform: EmbeddedPlatform, email: str, password: str
) -> tuple[Visit, str]:
    """Register, get verified, log in, find the service, apply with register data and a scan."""
    page = await browser.new_page()
    v = Visit(page, platform.base_url)
    await v.goto("/")
    await v.click("link", "Anmelden")
    await v.click("link", "Registrieren")
    await page.get_by_label("Vorname").fill("Erika")
    await page.get_by_label("Familienname").fill("Mustermann")
    await page.get_by_label("Geburtsdatum").fill("1964-08-12")
    await page.get_by_label("E-Mail").fill(email)
    await page.get_by_label("Passwort", exact=True).fill(password)
    await page.get_by_label("Passwort wiederholen").fill(password)
    await v.click("button", "Registrieren")
    # the Bürgerbüro checks her identity card: assurance level "substantiell"
    rathaus(platform, "users", "verify", "--email", email)
    await v.goto("/konto/anmelden")
    await page.get_by_label("E-Mail").fill(email)
    await page.get_by_label("Passwort").fill(password)
    await v.click("button", "Anmelden")
    await v.goto("/")
    await page.get_by_label("Leistung suchen").fill("Parkausweis")
    await page.get_by_label("Leistung suchen").press("Enter")
    await v.check()
    await v.click("link", "Bewohnerparkausweis beantragen")
    await v.click("link", "Online beantragen")
    await v.click("button", "Daten aus dem Melde- und Fahrzeugregister abrufen")
    assert "Zenettistraße" in await page.inner_text("main")
    assert "M-EM 1964" in await page.inner_text("main")
    await v.click("button", "Daten übernehmen")
    assert await page.get_by_label("Straße").input_value() == "Zenettistraße"
    await v.click("button", "Weiter")
    assert await page.get_by_label("Amtliches Kennzeichen").input_value() == "M-EM 1964"
    await page.get_by_label("Ich bin Halterin oder Halter des Fahrzeugs").select_option("ja")
    await v.click("button", "Weiter")
    await page.locator("input[type=file]").first.set_input_files(str(SCAN))
    await v.click("button", "Weiter")
    await page.get_by_label("Ich bestätige, dass meine Angaben richtig und vollständig sind.").check()
    await v.click("button", "Antrag verbindlich absenden")
    text = await page.inner_text("main")
    case_id = re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text)
    assert case_id, text
    return v, case_id.group(0)


async def clerk_logs_in(browser: Any, platform: EmbeddedPlatform) -> Visit:
    """The Bewohnerparken unit's clerk, logged in to the workspace."""
    v = Visit(await browser.new_page(), platform.base_url)
    login, password = demo_login(platform, "KVR-III/12")
    await v.goto("/arbeitsplatz/anmelden")
    await v.page.get_by_label("Benutzername").fill(login)
    await v.page.get_by_label("Passwort").fill(password)
    await v.click("button", "Anmelden")
    return v


async def staff_grants(browser: Any, platform: EmbeddedPlatform, case_id: str) -> str:
    """Log in as the unit's clerk, find the case in the inbox, read the OCR text, grant."""
    v = await clerk_logs_in(browser, platform)
    page = v.page

    async def in_inbox_with_document() -> bool:
        await page.goto(f"{platform.base_url}/arbeitsplatz/vorgaenge/{case_id}")
        return "Zulassungsbescheinigung" in await page.inner_text("main")

    await eventually(in_inbox_with_document, timeout=120)
    await v.check()
    main = await page.inner_text("main")
    aktenzeichen = re.search(r"523\.11-\d{4}-\d{6}", main)
    assert aktenzeichen, main
    await page.get_by_label("Bewilligen").check()
    await v.click("button", "Entscheidung treffen")
    await v.goto("/arbeitsplatz/")
    return aktenzeichen.group(0)


async def citizen_pays(v: Visit, case_id: str) -> None:
    """The fee is due after the grant: the citizen follows "Jetzt bezahlen" to the test
    provider's page, pays, and comes back to the case page, which shows it paid once the
    workflow has asked the provider (nothing on the way back is trusted)."""

    async def payable() -> bool:
        await v.page.goto(f"{v.base}/antraege/{case_id}")
        return await v.page.get_by_role("link", name="Jetzt bezahlen").count() > 0

    await eventually(payable, timeout=120)
    await v.check()
    await v.click("link", "Jetzt bezahlen")
    assert "Test-Zahlungsanbieter" in await v.page.inner_text("body")
    await v.page.get_by_label("Kreditkarte").check()
    await v.click("button", "Bezahlen")
    assert f"/antraege/{case_id}" in v.page.url

    async def paid() -> bool:
        return "Bezahlt:" in await v.page.inner_text("#zahlung")

    await eventually(paid, timeout=60)
    await v.check()


async def bescheid_in_postkorb(v: Visit, aktenzeichen: str) -> bytes:
    async def delivered() -> bool:
        await v.page.goto(f"{v.base}/postkorb")
        return aktenzeichen in await v.page.inner_text("main")

    await eventually(delivered, timeout=120)
    await v.check()
    async with v.page.expect_download() as download_info:
        await v.page.get_by_role("link", name=re.compile("herunterladen|Bescheid", re.I)).first.click()
    download = await download_info.value
    return Path(await download.path()).read_bytes()


def check_bescheid(pdf: bytes, aktenzeichen: str) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    assert pdf.startswith(b"%PDF")
    reader = PdfFileReader(io.BytesIO(pdf))
    xmp = reader.root["/Metadata"].get_object().data.decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp, xmp
    assert reader.embedded_signatures, "the Bescheid carries the city's seal"
    doc = pypdfium2.PdfDocument(io.BytesIO(pdf))
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    for expected in (aktenzeichen, "M-EM 1964", "Schlachthofviertel", "Rechtsbehelfsbelehrung"):
        assert expected in text, expected


def check_integrator_view(integrator: IntegratorClient, case_id: str) -> None:
    events = integrator.for_case(case_id)
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), "an event reached the integrator twice"
    for e in events:
        assert (
            e["specversion"] == "1.0"
            and e["type"].startswith("de.rathaus.")
            and e["source"].startswith("/rathaus/")
        )
        assert e["dataclassification"] in ("public", "internal")
        for marker in PERSONAL_MARKERS:
            assert marker not in str(e["data"]), (marker, e["type"])
    types = [e["type"].removeprefix("de.rathaus.") for e in events]
    statuses = [e["data"]["status"] for e in events if e["type"].endswith("case.status-changed.v1")]
    assert statuses == ["eingegangen", "in_pruefung", "zur_entscheidung", "entschieden", "zugestellt"]
    order = [
        "eakte.case.opened.v1",
        "eakte.document.filed.v1",
        "platform.decision.requested.v1",
        "platform.payment.completed.v1",
        "platform.delivery.requested.v1",
        "output.decision.delivered.v1",
    ]
    assert "eakte.claim.created.v1" in types
    assert "platform.payment.requested.v1" not in types  # its payment link is for the citizen only
    positions = [types.index(t) for t in order]
    assert positions == sorted(positions), types
    assert "broker.evidence.released.v1" in types


async def run_case(platform: EmbeddedPlatform, restart_between: bool) -> None:
    integrator = IntegratorClient()
    await integrator.connect(**platform.nats_credentials("integrator"))
    email, password = f"erika-{uuid.uuid4().hex[:8]}@example.org", "Ein-gutes-Passwort-2026"
    async with chromium() as browser:
        citizen, case_id = await citizen_applies(browser, platform, email, password)
        if restart_between:
            platform.kill()
            platform.start()
            await integrator.close()
            await integrator.connect(**platform.nats_credentials("integrator"))
            await citizen.goto("/konto/anmelden")
            await citizen.page.get_by_label("E-Mail").fill(email)
            await citizen.page.get_by_label("Passwort").fill(password)
            await citizen.click("button", "Anmelden")
        aktenzeichen = await staff_grants(browser, platform, case_id)
        await citizen_pays(citizen, case_id)
        check_bescheid(await bescheid_in_postkorb(citizen, aktenzeichen), aktenzeichen)
        await citizen.goto("/konto/datennutzung")
        log = await citizen.page.inner_text("main")
        assert case_id in log and "melderegister" in log.lower()
    if not restart_between:
        check_integrator_view(integrator, case_id)
    await integrator.close()

    # SRE: one case's spans from all six modules
    async def traced() -> bool:
        out = subprocess.run(
            [
                str(Path(sys.executable).parent / "rathaus"),
                "trace",
                case_id,
                "--data-dir",
                str(platform.data_dir),
            ],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        return all(f"rathaus-{m}" in out for m in (*MODULES, "orchestration"))

    await eventually(traced, timeout=30)
    # open data: the case is counted, after disclosure control (a single case is suppressed)
    month = datetime.now(ZoneInfo("Europe/Berlin")).strftime("%Y-%m")
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=10) as http:
        published: dict[str, Any] = {}

        async def counted() -> bool:
            data = (await http.get("/opendaten/datasets/bewohnerparkausweise-stadtbezirk-monat.json")).json()
            published.update(data)
            return any(
                r["monat"] == month and "Ludwigsvorstadt" in r["stadtbezirk"] and r["bewilligt_gesperrt"]
                for r in data["rows"]
            )

        await eventually(counted, timeout=60, interval=0.5)
        row = next(r for r in published["rows"] if "Ludwigsvorstadt" in r["stadtbezirk"])
        # one application, one permit: both under 3, so neither the cell nor the totals show them
        assert row["antraege"] is None and row["bewilligt"] is None and row["antraege_gesperrt"], row
        assert published["summen"]["insgesamt"]["antraege"] is None
        assert "1" not in {str(v) for v in row.values()}
        show = (
            await http.get(
                "/opendaten/api/3/action/package_show",
                params={"id": "bewohnerparkausweise-stadtbezirk-monat"},
            )
        ).json()
        assert show["success"] is True and show["result"]["name"] == "bewohnerparkausweise-stadtbezirk-monat"
        found = (
            await http.get("/opendaten/api/3/action/package_search", params={"q": "Bewohnerparkausweise"})
        ).json()
        assert found["success"] is True and found["result"]["count"] >= 1
        catalog = (await http.get("/opendaten/catalog.jsonld")).content
    from rathaus.opendata.dcat import validate

    assert validate(catalog) == []


async def test_bewohnerparkausweis_through_all_six_modules(embedded_platform: EmbeddedPlatform) -> None:
    await run_case(embedded_platform, restart_between=False)


async def test_the_case_survives_a_restart_between_submission_and_decision(
    embedded_platform: EmbeddedPlatform,
) -> None:
    await run_case(embedded_platform, restart_between=True)


async def test_a_scanned_letter_in_the_intake_folder_is_filed_in_its_case(
    embedded_platform: EmbeddedPlatform, make_scanned_letter: Callable[..., bytes]
) -> None:
    """Paper mail: a letter naming the case's Aktenzeichen, scanned into the intake folder,
    is read by OCR, routed into that case and shown to the clerk next to its text."""
    platform = embedded_platform
    email, password = f"erika-{uuid.uuid4().hex[:8]}@example.org", "Ein-gutes-Passwort-2026"
    async with chromium() as browser:
        _, case_id = await citizen_applies(browser, platform, email, password)
        v = await clerk_logs_in(browser, platform)
        page = v.page
        found: list[str] = []

        async def case_has_aktenzeichen() -> bool:
            await page.goto(f"{platform.base_url}/arbeitsplatz/vorgaenge/{case_id}")
            found[:] = re.findall(r"523\.11-\d{4}-\d{6}", await page.inner_text("main"))
            return bool(found)

        await eventually(case_has_aktenzeichen, timeout=120, interval=0.5)
        aktenzeichen = found[0]

        intake = platform.data_dir / "input" / "eingangsordner"
        letter = make_scanned_letter(aktenzeichen)
        (intake / "scan-0001.pdf.part").write_bytes(letter)
        (intake / "scan-0001.pdf.part").rename(intake / "scan-0001.pdf")  # a scanner's atomic drop

        async def letter_filed() -> bool:
            await page.goto(f"{platform.base_url}/arbeitsplatz/vorgaenge/{case_id}")
            return "Nachreichung zum Antrag" in await page.inner_text("main")

        await eventually(letter_filed, timeout=180, interval=1.0)
        await v.check()
        main = await page.inner_text("main")
        assert "Mietvertrags" in main  # the OCR text next to the original
        assert (intake / "verarbeitet" / "scan-0001.pdf").exists()
        assert not (intake / "scan-0001.pdf").exists()
