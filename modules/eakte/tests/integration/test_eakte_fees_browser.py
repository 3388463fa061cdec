"""The pages of fees and appointments in real Chromium with axe-core (WCAG 2.1 AA): the
day view with a check-in by keyboard, the refunds, the Zahlungsabgleich, the case page
with its Forderung."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from rathaus.contracts.platform.v1 import PaymentCompleted, PaymentsSettled, SettledTransaction
from rathaus.contracts.portal.v1 import AppointmentBooked
from rathaus.eakte import PREFIX
from rathaus.platform.browser import assert_accessible, chromium

pytestmark = pytest.mark.browser
DAY = "2026-12-03"


async def login(page: Any, base: str, username: str, password: str) -> None:
    await page.goto(f"{base}{PREFIX}/anmelden")
    await page.get_by_label("Benutzername").focus()
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}{PREFIX}/")


async def test_fee_and_appointment_pages_are_accessible(office: Any, served: str) -> None:
    case_id = await office.submit("halteverbotszone", {})
    claim = await office.wait_for("claim.created.v1", case_id)
    paid = PaymentCompleted(
        case_id=case_id,
        claim_id=claim["claim_id"],
        attempt=1,
        transaction_id="tx-b",
        kassenzeichen=claim["kassenzeichen"],
        amount_cents=3000,
        payment_method="PAYPAL",
        paid_at="2026-11-24T09:00:00+00:00",
    )
    await office.emit(office.workflow, paid, case_id)
    location = f"bb-{uuid.uuid4().hex[:6]}"
    visit = AppointmentBooked(
        appointment_id=str(uuid.uuid4()),
        reference="T-4711",
        case_id=case_id,
        service_id="halteverbotszone",
        location=location,
        starts_at=f"{DAY}T09:00:00+01:00",
        ends_at=f"{DAY}T09:15:00+01:00",
        persons=1,
        name="Erika Mustermann",
        booked_at="2026-11-24T10:00:00+00:00",
    )
    await office.emit(office.portal, visit, case_id)
    orphan = SettledTransaction(
        transaction_id="tx-o",
        kassenzeichen="999999999999",
        amount_cents=100,
        status="PAYED",
        paid_at=paid.paid_at,
    )
    await office.emit(
        office.workflow,
        PaymentsSettled(
            day="2026-11-24", provider="test-provider", transactions=[orphan], reported_at=paid.paid_at
        ),
        "",
    )
    await office.wait_for("document.filed.v1", case_id)
    async with chromium() as browser:
        page: Any = await browser.new_page()

        async def check() -> None:
            await page.wait_for_load_state("networkidle")
            await assert_accessible(page)

        await login(page, served, *office.login_of("KVR-III/11", "leitung"))
        await page.goto(f"{served}{PREFIX}/vorgaenge/{case_id}")
        await page.get_by_text(claim["kassenzeichen"]).first.wait_for()
        await check()
        await page.goto(f"{served}{PREFIX}/zahlungsabgleich")
        await page.get_by_text("Bezahlt, aber kein Vorgang").first.wait_for()
        await check()
        await page.goto(f"{served}{PREFIX}/erstattungen")
        await check()
        await page.goto(f"{served}{PREFIX}/termine?standort={location}&tag={DAY}")
        await page.get_by_text("Erika Mustermann").wait_for()
        await check()
        # the check-in by keyboard: tab to the button, press Enter
        button = page.get_by_role("button", name=re.compile("Eingecheckt.*T-4711"))
        for _ in range(40):
            await page.keyboard.press("Tab")
            if await button.evaluate("b => b === document.activeElement"):
                break
        else:
            raise AssertionError("the check-in button is not reachable by Tab")
        async with page.expect_navigation():  # the check-in posts and comes back to the day view
            await page.keyboard.press("Enter")
        await page.wait_for_load_state("networkidle")
        await office.wait_for("appointment.checked-in.v1", case_id)
        await check()
