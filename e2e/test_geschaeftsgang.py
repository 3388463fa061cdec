"""Issue 10's Geschäftsgang acceptance in real Chromium against the platform as real processes
(`rathaus up`, a day of deadlines scaled to four seconds), by keyboard, every new page checked
with axe-core (WCAG 2.1 AA, 0 violations):

- a Sondernutzung goes through a Verfügung from the procedure's Muster: Mitzeichnung by the
  road-traffic authority in its own inbox, Schlusszeichnung by the Leitung, which releases the
  decision; the citizen pays and the Bescheid is delivered to the Postkorb;
- a Wiedervorlage brings the case back into the clerk's inbox at its date (a Temporal timer);
- the clerk names a deputy; the deputy works the absent clerk's inbox, marked and audited as
  acting for them, and never sees the case the clerk marked personal.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from e2e.city import City, example, staff, started
from rathaus.platform.browser import Keyboard, chromium
from rathaus.platform.testing import EmbeddedPlatform, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
DAY_SECONDS = 4.0
WS = "/arbeitsplatz"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPlatform]:
    yield from started(tmp_path_factory, deadline_scale=DAY_SECONDS / 86400)


def munich_in(days: int) -> str:
    return (datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=days)).isoformat()


class Staff(Keyboard):
    """A member of staff in the workspace, by keyboard; every page checked with axe-core."""

    def __init__(self, page: Any, base: str, platform: EmbeddedPlatform) -> None:
        super().__init__(page, base)
        self.platform = platform

    async def login(self, unit: str, role: str = "sachbearbeitung") -> str:
        username, password = staff(self.platform, unit, role)
        await self.page.goto(f"{self.base}{WS}/anmelden")
        await self.type_into("Benutzername", username)
        await self.type_into("Passwort", password)
        await self.submit_field()
        return username

    async def logout(self) -> None:
        await self.follow("Abmelden", "button")

    async def goto(self, path: str) -> None:
        await self.page.goto(f"{self.base}{path}")
        await self.check()

    async def choose(self, label: str, element_id: str) -> None:
        """Tab to a radio button or checkbox and press Space."""
        await self.tab_to(label, "input", element_id)
        await self.page.keyboard.press("Space")

    async def main(self) -> str:
        return " ".join((await self.page.inner_text("main")).split())


async def test_sondernutzung_through_the_geschaeftsgang_wiedervorlage_and_vertretung(
    city: City, platform: EmbeddedPlatform
) -> None:
    definition = city.procedures.current("sondernutzung")
    assert definition is not None and definition.procedure.routes
    http = await city.citizen()
    try:
        case_id = await city.apply(http, example(definition))
        private_id = await city.apply(http, example(definition))
        async with city.clerk("BAU-T/31") as api:
            case = await city.waiting(api, case_id)
            private = await city.waiting(api, private_id)
        az, page_path = case["aktenzeichen"], f"{WS}/vorgaenge/{case_id}"

        async with chromium() as browser:
            # the clerk: a Verfügung from the Muster, with the draft decision
            s = Staff(await browser.new_page(), platform.base_url, platform)
            clerk = await s.login("BAU-T/31")
            await s.goto(page_path)
            assert "Mitzeichnung nach dem Verfahren (läuft)" in await s.main()
            await s.follow("Muster übernehmen", "button")
            # a radio group: Tab reaches the chosen option, the arrow key moves on to the next
            await s.tab_to("Kein Entwurf (nur Dokumente)", "input", "draft-none")
            await s.page.keyboard.press("ArrowDown")
            assert await s.page.locator("#draft-granted").is_checked()
            await s.follow("Geschäftsgang starten", "button")
            main = await s.main()
            assert "Mitzeichnung Straßenverkehrsbehörde, Schlusszeichnung Leitung (läuft)" in main
            assert "Entwurf der Entscheidung: Bewilligung" in main
            # and a Wiedervorlage for tomorrow
            await s.tab_to("Wiedervorlage am", "input", "wv-day")
            await s.page.locator("#wv-day").fill(
                munich_in(1)
            )  # the date picker's typing order is the locale's
            await s.tab_to("Notiz zur Wiedervorlage", "textarea", "wv-note")
            await s.page.keyboard.type("Auflagen mit dem KVR abstimmen.")
            await s.follow("Wiedervorlage setzen", "button")
            assert "Auflagen mit dem KVR abstimmen. (geplant)" in await s.main()
            # the private case is marked personal before the clerk leaves
            await s.goto(f"{WS}/vorgaenge/{private_id}")
            await s.follow("Als persönlich markieren (keine Vertretung)", "button")
            assert "von jeder Vertretung ausgenommen" in await s.main()
            await s.logout()

            # the road-traffic authority co-signs in its own inbox
            await s.login("KVR-III/11")
            assert "Zur Mitzeichnung" in await s.main() and az in await s.main()
            await s.follow(az)
            await s.choose("Mitzeichnen", "action-mitgezeichnet")
            await s.follow("Mitzeichnung abgeben", "button")
            assert "mitgezeichnet" in await s.main()
            await s.logout()

            # the Leitung: the Schlusszeichnung in its inbox releases the decision
            await s.login("BAU-T/31", "leitung")
            main = await s.main()
            assert "Geschäftsgang: an Sie gerichtet" in main and "zur Schlusszeichnung" in main
            await s.follow(az)
            final = await s.page.locator("form[id^=schritt-]").first.get_attribute("id")
            assert final is not None
            pk = final.removeprefix("schritt-")
            await s.choose("Schlusszeichnen", f"answer-{pk}-schlussgezeichnet")
            await s.follow("Schritt abschließen", "button")
            main = await s.main()
            assert "(abgeschlossen)" in main and "Bewilligt" in main
            await s.logout()

            # decision and delivery: the citizen pays, the Bescheid is in the Postkorb
            await city.pay(http, case_id)
            delivered = await city.delivered(case_id)
            assert delivered["outcome"] == "granted"
            assert az in await city.bescheid(http, az)

            # the Wiedervorlage brings the case back at its date
            await s.login("BAU-T/31")

            async def back() -> bool:
                await s.page.reload()
                return "Auflagen mit dem KVR abstimmen." in await s.main()

            await eventually(back, timeout=60, interval=1)
            await s.check()
            assert "Wiedervorlage" in await s.main()
            # the clerk names a deputy and leaves
            await s.follow("Vertretung")
            await s.tab_to("Vertretung durch", "select", "deputy")
            deputy_name, _ = staff(platform, "KVR-III/12")
            await s.page.get_by_label("Vertretung durch").select_option(deputy_name)
            for field, value in (("begin", munich_in(0)), ("end", munich_in(3))):
                await s.page.locator(f"#{field}").fill(value)
            await s.follow("Vertretung benennen", "button")
            assert "Ihre Vertretungen" in await s.main()
            await s.logout()

            # the deputy works the absent clerk's inbox, never the personal case
            deputy = await s.login("KVR-III/12")
            await s.follow("Vertretung")
            assert "Sie vertreten heute" in await s.main()
            await s.follow("Posteingang von", "button")
            main = await s.main()
            assert f"In Vertretung für {clerk}" in main and az in main
            assert private["aktenzeichen"] not in main
            response = await s.page.goto(f"{platform.base_url}{WS}/vorgaenge/{private_id}")
            assert response is not None and response.status == 403
            await s.goto(f"{WS}/")
            await s.follow(az)
            await s.follow("Wiedervorlage erledigt", "button")
            main = await s.main()
            assert "Auflagen mit dem KVR abstimmen. (erledigt)" in main
            assert f"{deputy}: wiedervorlage_erledigt (in Vertretung für {clerk})" in main
            await s.follow("Posteingang der Einheit")
            await s.follow("Zurück zum eigenen Posteingang", "button")
            assert az not in await s.main()
    finally:
        await http.aclose()
