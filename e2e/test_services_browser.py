"""Issue 7's acceptance in real Chromium against the platform as real processes
(`rathaus up`): services that are data only, applied for in the browser, every page checked
with axe-core (WCAG 2.1 AA, 0 violations):

- Hundesteuer (a repeating group: two dogs) by keyboard alone, decided by a clerk of the
  responsible unit, the Steuerbescheid with both dogs and the tax the rules compute;
- Gewerbeanmeldung for a business: an Unternehmenskonto, the application "für" it with the
  business's data prefilled, the Empfangsbescheinigung in the Postkorb marked for it;
- Meldebescheinigung: data from the Melderegister on request, decided automatically
  (§ 35a VwVfG) without any clerk, the certificate in the Postkorb within a minute;
- Fundsache without an account: the confirmation page with the Vorgangsnummer, and the
  Eingangsbestätigung by e-mail.
"""

from __future__ import annotations

import email
import email.policy
import io
import mailbox
import re
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pypdfium2
import pytest

from e2e.city import SCAN, City, demo_citizen, staff, started
from rathaus.platform.browser import FOCUSED, FORM_REFRESHED, MARK_FORM, assert_accessible, chromium
from rathaus.platform.browser import Keyboard as BaseKeyboard
from rathaus.platform.kernel.procedures import Inputs, judge
from rathaus.platform.kernel.procedures.display import format_value
from rathaus.platform.testing import EmbeddedPlatform, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPlatform]:
    yield from started(tmp_path_factory)


class Browsing:
    """A page whose every landing is checked with axe-core; the pages checked are kept."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base
        self.checked: list[str] = []

    async def check(self) -> None:
        await self.page.wait_for_load_state("networkidle")
        await assert_accessible(self.page)
        self.checked.append(self.page.url.removeprefix(self.base))

    async def goto(self, path: str) -> None:
        await self.page.goto(self.base + path)
        await self.check()

    async def click(self, role: str, name: str) -> None:
        async with self.page.expect_navigation():
            await self.page.get_by_role(role, name=name, exact=True).first.click()
        await self.check()

    async def main(self) -> str:
        text: str = await self.page.inner_text("main")
        return text

    async def select(self, field: str, option: str) -> None:
        """Choose an option (by its value) in a select of the application form (htmx
        re-renders the form)."""
        await self.changed_by_htmx(lambda: self.page.get_by_label(field, exact=True).select_option(option))

    async def tick(self, label: str) -> None:
        """Tick a checkbox of the application form (htmx re-renders the form)."""
        await self.changed_by_htmx(lambda: self.page.get_by_label(label, exact=True).check())

    async def changed_by_htmx(self, action: Any) -> None:
        """Do something that makes htmx re-render the form (a select, a checkbox), wait for
        the new form, and check the page again."""
        await self.page.evaluate(MARK_FORM)
        await action()
        await self.page.wait_for_function(FORM_REFRESHED)
        await assert_accessible(self.page)
        self.checked.append(self.page.url.removeprefix(self.base) + " (htmx)")


class Keyboard(Browsing, BaseKeyboard):
    """The shared keyboard driver, on a page whose landings are recorded (``Browsing``)."""

    async def type_date(self, element_id: str, day: date) -> None:
        """A date field as a person types it, segment by segment from its first: day, month,
        year, or month first where this Chromium's date field wants that (it follows the
        browser's language, not the page's): then out of the field, back in, and retyped."""
        field = self.page.locator(f"#{element_id}")
        for order in ("%d%m%Y", "%m%d%Y"):
            await self.tab_to(kind="input:date", element_id=element_id)
            await self.page.keyboard.type(day.strftime(order))
            if await field.input_value() == day.isoformat():
                return
            for _ in range(4):  # Shift+Tab walks back through the field's segments, then out
                await self.page.keyboard.press("Shift+Tab")
                if (await self.page.evaluate(FOCUSED))[2] != element_id:
                    break
        raise AssertionError(f"the date field {element_id} did not take {day}")

    async def choose(self, label: str, typed: str, element_id: str = "") -> None:
        """A select: the option whose name starts with what is typed (htmx re-renders)."""
        await self.tab_to(label, "select", element_id)
        await self.changed_by_htmx(lambda: self.page.keyboard.type(typed))

    async def tick_by_space(self, label: str, element_id: str = "", htmx: bool = True) -> None:
        await self.tab_to(label, "input:checkbox", element_id)
        if htmx:
            await self.changed_by_htmx(lambda: self.page.keyboard.press("Space"))
        else:
            await self.page.keyboard.press("Space")


async def new_page(browser: Any) -> Any:
    context = await browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
    return await context.new_page()


def pdf_text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF"), pdf[:20]
    document = pypdfium2.PdfDocument(io.BytesIO(pdf))
    return " ".join(document[i].get_textpage().get_text_range() for i in range(len(document)))


async def postkorb_row(v: Browsing, aktenzeichen: str, timeout: float = 60) -> str:
    """Wait (reloading the Postkorb) for the document of a case; its row's text."""
    row = v.page.locator("tbody tr", has_text=aktenzeichen)

    async def arrived() -> bool:
        await v.page.goto(f"{v.base}/postkorb")
        return await row.count() == 1

    await eventually(arrived, timeout=timeout, interval=0.5)
    await v.check()
    text: str = await row.inner_text()
    return text


async def download(v: Browsing, aktenzeichen: str) -> str:
    """The Bescheid of a case from the Postkorb (by Enter on its link, or a click): its text."""
    link = f"Bescheid {aktenzeichen} herunterladen"
    async with v.page.expect_download() as info:
        if isinstance(v, Keyboard):
            await v.tab_to(link, "a")
            await v.page.keyboard.press("Enter")
        else:
            await v.page.get_by_role("link", name=re.compile(re.escape(link))).click()
    downloaded = await info.value
    return pdf_text(Path(await downloaded.path()).read_bytes())


def computed(city: City, service_id: str, values: dict[str, Any], files: dict[str, Any], name: str) -> str:
    """A value the rule engine computes from what was entered, as the Bescheid prints it."""
    definition = city.procedures.current(service_id)
    assert definition is not None
    result = judge(definition, Inputs(values=values, files=files))
    assert not result.errors, result.errors
    return format_value(definition, definition.node(name), result.data[name])


async def log_in(v: Browsing, login: tuple[str, str]) -> None:
    await v.goto("/konto/anmelden")
    await v.page.get_by_label("E-Mail").fill(login[0])
    await v.page.get_by_label("Passwort").fill(login[1])
    await v.click("button", "Anmelden")


# -- 1. Hundesteuer by keyboard alone ----------------------------------------------------------


async def test_two_dogs_registered_for_the_dog_tax_by_keyboard_alone(
    city: City, platform: EmbeddedPlatform
) -> None:
    email_address, password = demo_citizen(platform)
    today = date.today()
    bruno_since, kira_since = today - timedelta(days=3), today - timedelta(days=1)
    async with chromium() as browser:
        kb = Keyboard(await new_page(browser), platform.base_url)
        page = kb.page
        await kb.goto("/")
        await kb.follow("Anmelden")
        await kb.type_into("E-Mail", email_address)
        await kb.type_into("Passwort", password)
        await kb.submit_field()
        assert "Abmelden" in await page.inner_text("header")
        await kb.type_into("Leistung suchen", "Hund anmelden")
        await kb.submit_field()
        await kb.follow("Hund zur Hundesteuer an- oder abmelden")
        await kb.follow("Online beantragen")
        assert page.url.endswith("/leistungen/hundesteuer/antrag/halter"), page.url

        # page 1: the keeper; the account's data are offered, the address is typed
        assert await page.locator("#feld-vorname").input_value() == "Erika"
        await kb.choose("Was möchten Sie tun?", "H")  # "Hund anmelden": the first option with H
        assert await page.locator("#feld-art").input_value() == "anmeldung"
        await kb.type_into("Straße (Ort der Hundehaltung)", "Zenettistraße")
        await kb.type_into("Hausnummer", "12")
        await kb.type_into("Postleitzahl", "80337")
        # shown only for a registration: htmx brought it in when "Hund anmelden" was chosen
        await kb.type_into("Wie viele Hunde haben Sie in München bereits angemeldet?", "0")
        await kb.follow("Weiter", "button")

        # page 2: the dogs, a repeating group (one row to begin with); no page for a
        # Negativzeugnis as long as no dog has one
        main = await kb.main()
        assert "Schritt 2 von 3: Angaben zu den Hunden" in main, main
        assert "Hund 1" in main and "Hund 2" not in main
        await kb.type_into("Name des Hundes", "Bruno", "feld-hunde-0-hundename")
        await kb.choose("Rasse", "L", "feld-hunde-0-rasse")  # Labrador Retriever
        await kb.type_date("feld-hunde-0-haltung_seit", bruno_since)
        await kb.follow("Weiteren Hund hinzufügen", "button")
        assert page.url.endswith("#gruppe-hunde-1"), page.url
        # the new row is where the page came back to: Tab goes on from there
        await kb.type_into("Name des Hundes", "Kira", "feld-hunde-1-hundename")
        await kb.choose("Rasse", "R", "feld-hunde-1-rasse")  # Rottweiler: a dog of category 2
        await kb.type_date("feld-hunde-1-haltung_seit", kira_since)
        # category 2 with a Negativzeugnis is taxed as an ordinary dog: the box appears with the breed
        await kb.tick_by_space("Für diesen Hund liegt ein Negativzeugnis vor", "feld-hunde-1-negativzeugnis")
        # one row too many, added and removed again
        await kb.follow("Weiteren Hund hinzufügen", "button")
        assert "Hund 3" in await kb.main()
        await kb.follow("Hund 3 entfernen", "button")
        main = await kb.main()
        assert "Hund 3" not in main and "Hund 2" in main
        assert "Schritt 2 von 4: Angaben zu den Hunden" in main  # now with the Nachweise page
        assert await page.locator("#feld-hunde-0-hundename").input_value() == "Bruno"
        assert await page.locator("#feld-hunde-1-hundename").input_value() == "Kira"
        values: dict[str, Any] = {
            "art": "anmeldung",
            "vorname": "Erika",
            "familienname": "Mustermann",
            "geburtsdatum": "1964-08-12",
            "strasse": "Zenettistraße",
            "hausnummer": "12",
            "postleitzahl": "80337",
            "bereits_gemeldet": 0,
            "hunde": [
                {
                    "hundename": "Bruno",
                    "rasse": "labrador_retriever",
                    "haltung_seit": bruno_since.isoformat(),
                },
                {
                    "hundename": "Kira",
                    "rasse": "rottweiler",
                    "haltung_seit": kira_since.isoformat(),
                    "negativzeugnis": True,
                },
            ],
        }
        files = {"negativzeugnis_datei": {"art": "negativzeugnis_datei"}}
        tax = computed(city, "hundesteuer", values, files, "jahressteuer")
        assert tax in main, (tax, main)  # the form shows what the rules compute
        await kb.follow("Weiter", "button")

        # page 3: the Negativzeugnis (the page is there because one dog has one)
        assert page.url.endswith("/antrag/nachweise"), page.url
        # a file dialog cannot be typed into: the input is reached by keyboard, the file set for it
        await kb.tab_to("Negativzeugnis", "input:file")
        await page.locator("input[type=file]:focus").set_input_files(
            {"name": "negativzeugnis-kira.pdf", "mimeType": "application/pdf", "buffer": SCAN.read_bytes()}
        )
        await kb.follow("Weiter", "button")

        # the summary: both dogs, the tax, the file
        assert page.url.endswith("/antrag/zusammenfassung"), page.url
        main = await kb.main()
        for expected in ("Bruno", "Kira", "Labrador Retriever", "Rottweiler", tax, "negativzeugnis-kira.pdf"):
            assert expected in main, expected
        await kb.tick_by_space("Ich bestätige, dass meine Angaben richtig und vollständig sind.", htmx=False)
        await kb.follow("Antrag verbindlich absenden", "button")
        main = await kb.main()
        found = UUID.search(main)
        assert "Ihr Antrag ist eingegangen" in main and found, main
        case_id = found.group(0)

        # the clerk of the Hundesteuer unit grants through the workspace API
        await city.decide("SKA-2/21", case_id)
        aktenzeichen = (await city.delivered(case_id))["aktenzeichen"]

        # the Steuerbescheid in her Postkorb, reached and downloaded by keyboard
        await kb.follow("Postkorb")
        await postkorb_row(kb, aktenzeichen)
        text = await download(kb, aktenzeichen)
    for expected in (
        aktenzeichen,
        "Hundesteuerbescheid",
        "Bruno",
        "Kira",
        "Erika",
        tax,
        "Rechtsbehelfsbelehrung",
    ):
        assert expected in text, (expected, text[:2000])
    assert len(kb.checked) >= 15, kb.checked


# -- 2. Gewerbeanmeldung for a business --------------------------------------------------------


async def test_a_business_registers_its_trade_in_the_browser(city: City, platform: EmbeddedPlatform) -> None:
    business = f"Radlwerk Isarvorstadt {uuid.uuid4().hex[:4].upper()} GmbH"  # one per run
    async with chromium() as browser:
        v = Browsing(await new_page(browser), platform.base_url)
        page = v.page
        await log_in(v, demo_citizen(platform))
        await v.click("link", "Unternehmen")
        await v.click("link", "Unternehmenskonto anlegen")
        # an empty form: the errors, accessible too
        await v.click("button", "Unternehmenskonto anlegen")
        assert "Bitte prüfen Sie" in await v.main()
        await page.get_by_label("Name des Unternehmens").fill(business)
        await page.get_by_label("Rechtsform").select_option("GmbH")
        await page.get_by_label("Registernummer").fill("HRB 281734")
        await page.get_by_label("Straße").fill("Zenettistraße")
        await page.get_by_label("Hausnummer").fill("12")
        await page.get_by_label("Postleitzahl").fill("80337")
        await page.get_by_label("Ort").fill("München")
        await v.click("button", "Unternehmenskonto anlegen")
        assert business in await v.main()
        await v.click("link", "Unternehmen")
        assert business in await v.main()

        await v.goto("/leistungen/gewerbeanmeldung")
        await v.click("link", "Online beantragen")
        # the portal asks for whom she applies: only a business may (not herself)
        assert page.url.endswith("/antrag/antragsteller"), page.url
        assert "Für wen stellen Sie den Antrag?" in await v.main()
        await page.get_by_label(f"Für {business}").check()
        await v.click("button", "Weiter")

        # the business's data from the Unternehmenskonto
        assert await page.get_by_label("Name oder Firma des Unternehmens").input_value() == business
        assert await page.get_by_label("Rechtsform").input_value() == "GmbH"
        assert (await page.get_by_label("Registernummer und Registergericht").input_value()).startswith(
            "HRB 281734"
        )
        await v.click("button", "Weiter")
        assert await page.get_by_label("Straße").input_value() == "Zenettistraße"
        assert await page.get_by_label("Hausnummer").input_value() == "12"
        assert await page.get_by_label("Postleitzahl").input_value() == "80337"
        await v.select("Die Betriebsstätte ist", "hauptniederlassung")
        await v.click("button", "Weiter")

        start = date.today() + timedelta(days=7)
        await page.get_by_label("Angemeldete Tätigkeit").fill(
            "Einzelhandel mit Fahrrädern und Fahrradzubehör, Reparatur von Fahrrädern"
        )
        await v.select("Anlass der Anmeldung", "neuerrichtung")
        await page.get_by_label("Beginn der Tätigkeit").fill(start.isoformat())
        await page.get_by_label("Zahl der Beschäftigten in Vollzeit (ohne Inhaber)").fill("2")
        await page.get_by_label("Zahl der Beschäftigten in Teilzeit").fill("1")
        await v.click("button", "Weiter")

        await page.get_by_label("Vorname").fill("Erika")
        await page.get_by_label("Familienname").fill("Mustermann")
        await page.get_by_label("Geburtsdatum").fill("1964-08-12")
        await page.get_by_label("Funktion").fill("Geschäftsführerin")
        await v.click("button", "Weiter")

        assert page.url.endswith("/antrag/zusammenfassung"), page.url
        main = await v.main()
        for expected in (business, "Zenettistraße", "Fahrrädern", "Geschäftsführerin", "50,00 €"):
            assert expected in main, expected
        await page.get_by_label("Ich bestätige, dass meine Angaben richtig und vollständig sind.").check()
        await v.click("button", "Antrag verbindlich absenden")
        main = await v.main()
        found = UUID.search(main)
        assert found and business in main, main  # "Im Namen von"
        case_id = found.group(0)

        await city.decide("KVR-I/21", case_id)
        http = await city.citizen()  # the fee (after the decision), paid on the provider's page
        try:
            assert (await city.pay(http, case_id))["betrag_cent"] == 5000
        finally:
            await http.aclose()
        aktenzeichen = (await city.delivered(case_id))["aktenzeichen"]
        row = await postkorb_row(v, aktenzeichen)
        assert f"für {business}" in row, row
        text = await download(v, aktenzeichen)
    for expected in (aktenzeichen, "Empfangsbescheinigung", business, "Zenettistraße", "Fahrrädern"):
        assert expected in text, (expected, text[:2000])


# -- 3. Meldebescheinigung, decided automatically ---------------------------------------------


async def test_the_meldebescheinigung_arrives_without_a_clerk(city: City, platform: EmbeddedPlatform) -> None:
    async with chromium() as browser:
        v = Browsing(await new_page(browser), platform.base_url)
        page = v.page
        await log_in(v, demo_citizen(platform))
        await v.goto("/leistungen/meldebescheinigung")
        await v.click("link", "Online beantragen")
        assert page.url.endswith("/antrag/meldedaten"), page.url
        # nothing is known before the register is asked
        assert "wird ermittelt" in await page.locator("#feld-strasse").inner_text()
        await v.click("button", "Daten aus dem Melderegister abrufen")
        assert page.url.endswith("/leistungen/meldebescheinigung/registerdaten"), page.url
        preview = await v.main()
        for expected in ("Mustermann", "Erika", "Zenettistraße", "80337"):
            assert expected in preview, expected
        await v.click("button", "Daten übernehmen")
        # the locked fields show the register's values; none can be edited
        assert "Zenettistraße" in await page.locator("#feld-strasse").inner_text()
        assert "Mustermann" in await page.locator("#feld-familienname").inner_text()
        assert "12.08.1964" in await page.locator("#feld-geburtsdatum").inner_text()
        assert await page.locator("#formular input:not([type=hidden]), #formular select").count() == 0
        await v.click("button", "Weiter")
        await v.tick("Das Einzugsdatum soll auf der Bescheinigung stehen")
        await v.click("button", "Weiter")
        assert page.url.endswith("/antrag/zusammenfassung"), page.url
        main = await v.main()
        assert "Melderegister" in main and "Zenettistraße" in main
        await page.get_by_label("Ich bestätige, dass meine Angaben richtig und vollständig sind.").check()
        submitted = time.monotonic()
        await v.click("button", "Antrag verbindlich absenden")
        found = UUID.search(await v.main())
        assert found
        case_id = found.group(0)

        # no clerk acts: the rules decide (§ 35a VwVfG) and the certificate is delivered
        aktenzeichen = (await city.delivered(case_id))["aktenzeichen"]
        await postkorb_row(v, aktenzeichen, timeout=60)
        assert time.monotonic() - submitted < 60, "the certificate took longer than a minute"
        # the responsible unit's clerk sees in the E-Akte that the rules decided
        clerk = Browsing(await new_page(browser), platform.base_url)
        await clerk.goto("/arbeitsplatz/anmelden")
        login, password = staff(platform, "KVR-II/11")
        await clerk.page.get_by_label("Benutzername").fill(login)
        await clerk.page.get_by_label("Passwort").fill(password)
        await clerk.click("button", "Anmelden")
        await clerk.goto(f"/arbeitsplatz/vorgaenge/{case_id}")
        assert re.search(r"Entschieden am [0-9: -]+ \(automatisch\)", await clerk.main()), await clerk.main()
        text = await download(v, aktenzeichen)
    for expected in (
        aktenzeichen,
        "Meldebescheinigung",
        "Mustermann",
        "Erika",
        "12.08.1964",
        "Zenettistraße",
        "80337",
    ):
        assert expected in text, (expected, text[:2000])
    assert "Eingezogen am" in text  # on her request (§ 18 Abs. 2 BMG)


# -- 4. Fundsache without an account ----------------------------------------------------------


async def test_a_find_is_reported_without_an_account(city: City, platform: EmbeddedPlatform) -> None:
    finder = "finderin-westpark@example.org"
    async with chromium() as browser:
        v = Browsing(await new_page(browser), platform.base_url)
        page = v.page
        await v.goto("/")
        await page.get_by_label("Leistung suchen").fill("Geldbörse gefunden")
        async with page.expect_navigation():
            await page.get_by_label("Leistung suchen").press("Enter")
        await v.check()
        await v.click("link", "Fundsache melden")
        await v.click("link", "Online beantragen")
        assert page.url.endswith("/leistungen/fundsache/antrag/fund"), page.url
        assert "ohne Anmeldung" in await v.main()
        await v.select("Was haben Sie gefunden?", "geldboerse")
        await page.get_by_label("Beschreibung").fill("Schwarze Geldbörse aus Leder, darin etwa 40 € Bargeld")
        await page.get_by_label("Geschätzter Wert in Euro").fill("60")
        await page.get_by_label("Fundort").fill("Westpark, Bank am Rosengarten")
        await page.get_by_label("Funddatum").fill(date.today().isoformat())
        await v.select("Wo ist die Fundsache jetzt?", "polizei")
        await page.get_by_label("Polizeidienststelle").fill("Polizeiinspektion 14 (Westend)")
        await v.click("button", "Weiter")
        # claiming the finder's rights without a way to be reached: refused, accessibly
        await v.tick("Ich beanspruche Finderlohn und meine Rechte als Finder")
        await v.click("button", "Weiter")
        assert "E-Mail-Adresse oder Telefonnummer" in await v.main()
        await page.get_by_label("E-Mail-Adresse").fill(finder)
        await v.click("button", "Weiter")
        assert page.url.endswith("/antrag/zusammenfassung"), page.url
        main = await v.main()
        assert "Westpark" in main and finder in main
        await page.get_by_label("Ich bestätige, dass meine Angaben richtig und vollständig sind.").check()
        await v.click("button", "Antrag verbindlich absenden")
        main = await v.main()
        found = UUID.search(main)
        assert "Ihr Antrag ist eingegangen" in main and "Vorgangsnummer" in main and found, main
        assert re.search(r"/eingegangen/" + found.group(0), page.url), page.url
        case_id = found.group(0)

    # decided automatically, and sent to the address she gave (she has no Postkorb)
    delivered = await city.delivered(case_id)
    assert delivered["channel"] == "email", delivered
    aktenzeichen = delivered["aktenzeichen"]
    mails = platform.data_dir / "mail"
    sent: list[Any] = []

    async def mailed() -> bool:
        sent[:] = [
            m
            for m in mailbox.Maildir(str(mails), create=True)
            if finder in str(m.get("To", ""))
            and any(p.get_content_type() == "application/pdf" for p in m.walk())
        ]
        return bool(sent)

    await eventually(mailed, timeout=60, interval=0.5)
    message = email.message_from_bytes(sent[0].as_bytes(), policy=email.policy.default)
    pdf = next(p for p in message.walk() if p.get_content_type() == "application/pdf").get_content()
    text = pdf_text(pdf)
    for expected in (aktenzeichen, "Westpark", "Geldbörse"):
        assert expected in text, (expected, text[:2000])
