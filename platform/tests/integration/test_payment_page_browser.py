"""The test provider's payment page in real Chromium: axe-core finds nothing, and a citizen
pays by keyboard alone (choosing the payment method with the arrow keys)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from rathaus.platform.browser import Keyboard, assert_accessible, chromium
from rathaus.platform.kernel.payment import PaymentItem, PaymentRequest, PaymentStatus, payment_provider
from rathaus.platform.kernel.settings import PaymentSettings, Settings
from rathaus.platform.runtime.payprovider import TestPaymentProvider
from rathaus.platform.runtime.processes import free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def settings_with_provider(tmp_path: Path) -> Iterator[Settings]:
    settings = Settings(data_dir=tmp_path, payment=PaymentSettings(port=free_port()))
    provider = TestPaymentProvider(tmp_path, settings.payment.port, [("rathaus-demo", "gebuehren")])
    provider.start()  # the way `rathaus up` runs it: in a thread of the same process
    try:
        yield settings
    finally:
        provider.stop()


async def test_the_payment_page_is_accessible_and_works_by_keyboard(settings_with_provider: Settings) -> None:
    client = payment_provider(settings_with_provider)
    base = client.base_url
    try:
        tx = await client.create(
            PaymentRequest(
                request_id=str(uuid.uuid4()),
                amount_cents=3000,
                purpose="Gebühr Meldebescheinigung",
                description="Meldebescheinigung, einfache Auskunft",
                redirect_url=f"{base}/?zurueck=1",  # the provider's own start page stands in for the portal
                items=[PaymentItem(id="1", reference="", description="Gebühr", total_cents=3000)],
                reference="KZ-2026-000001",
            )
        )
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(tx.url)
            assert await page.title() == "Bezahlen – Test-Zahlungsanbieter"
            assert "es wird kein Geld bewegt" in await page.inner_text("header")
            await assert_accessible(page)
            keys = Keyboard(page, base)
            await keys.tab_to("Zum Inhalt springen", "a")
            await keys.tab_to("giropay", "input:radio")  # Tab enters the group at the chosen method
            for _ in range(3):
                await page.keyboard.press("ArrowDown")  # giropay → paydirekt → Kreditkarte → PayPal
            assert await page.evaluate("document.activeElement.value") == "PAYPAL"
            await keys.tab_to("Bezahlen", "button")
            outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline not in ("", "none"), "the focused button shows no focus outline"
            async with page.expect_navigation():
                await page.keyboard.press("Enter")
            await keys.check()  # the page the provider sent the citizen back to
            assert page.url == f"{base}/?zurueck=1"
        paid = await client.status(tx.transaction_id)
        assert paid.status is PaymentStatus.PAYED and paid.payment_method == "PAYPAL"
        async with chromium() as browser:  # the finished payment's page: no buttons, still accessible
            page = await browser.new_page()
            await page.goto(tx.url)
            assert await page.locator("button").count() == 0
            assert "bezahlt" in await page.inner_text("main")
            await assert_accessible(page)
    finally:
        await client.aclose()
