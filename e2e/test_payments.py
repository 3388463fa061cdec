"""Issue 8's payment acceptance against the platform as real processes (`rathaus up`, its
test payment provider on its own port, spoken to over HTTP):

- in Chromium: an abandoned payment makes the case wait, then expire with a message; the
  citizen starts again from "Meine Anträge", pays on the provider's page, and the
  confirmation arrives in the Postkorb while the receipt is filed in the E-Akte;
- the redirect back to the portal never happens: the status poll finds PAYED anyway;
- the platform is SIGKILLed between the payment and the status query: nothing is paid
  twice, nothing is lost;
- a tampered return URL (amount, transaction id, status) changes nothing; someone else's
  case is refused, never a 500.

Sperrmüll is the service: its fee is due before processing (`payment = "before"`), and it
is confirmed automatically, so no clerk is needed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from e2e.city import TOKEN, City, demo_citizen, example, started
from e2e.test_services_browser import Browsing, log_in, new_page, postkorb_row
from rathaus.platform.browser import chromium
from rathaus.platform.kernel.payment import payment_provider
from rathaus.platform.kernel.settings import Settings
from rathaus.platform.runtime.payprovider.controls import choose
from rathaus.platform.testing import EmbeddedPlatform, eventually

pytestmark = [pytest.mark.e2e]
ATTEMPT_SECONDS = 20.0  # how long a payment attempt stays open here (3 hours in the city)
SERVICE = "sperrmuell"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPlatform]:
    yield from started(tmp_path_factory, env={"RATHAUS_PAYMENT__ATTEMPT_HOURS": str(ATTEMPT_SECONDS / 3600)})


@pytest.fixture
async def http(city: City) -> AsyncIterator[httpx.AsyncClient]:
    """The demo citizen's portal session."""
    session = await city.citizen()
    try:
        yield session
    finally:
        await session.aclose()


async def apply(city: City, http: httpx.AsyncClient) -> str:
    definition = city.procedures.current(SERVICE)
    assert definition is not None and definition.procedure.fee.payment == "before"
    return await city.apply(http, example(definition))


async def applied(city: City, http: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    """A Sperrmüll case whose payment attempt is open: its id and the payment as shown."""
    case_id = await apply(city, http)
    return case_id, await city.payment(http, case_id)


def completed(city: City, case_id: str) -> list[dict[str, Any]]:
    return [
        e["data"]
        for e in city.integrator.for_case(case_id)
        if e["type"].endswith("platform.payment.completed.v1")
    ]


async def provider_transactions(platform: EmbeddedPlatform, kassenzeichen: str) -> list[Any]:
    """What the provider itself holds for a Kassenzeichen (today's settlement report)."""
    settings = Settings(data_dir=platform.data_dir)
    settings.payment.port = platform.payment_port
    client = payment_provider(settings)
    try:
        day = datetime.now(UTC).date()
        return [t for t in await client.settlement(day) if t.reference == kassenzeichen]
    finally:
        await client.aclose()


@pytest.mark.browser
async def test_an_abandoned_payment_expires_with_a_message_and_is_paid_on_a_second_attempt(
    city: City, platform: EmbeddedPlatform, http: httpx.AsyncClient
) -> None:
    case_id, first = await applied(city, http)  # the attempt is open
    async with chromium() as browser:
        v = Browsing(await new_page(browser), platform.base_url)
        await log_in(v, demo_citizen(platform))
        await v.goto(f"/antraege/{case_id}")
        assert "Jetzt bezahlen" in await v.main()
        # she leaves without paying: the case waits, in_pruefung never comes
        await v.click("link", "Jetzt bezahlen")
        assert "Test-Zahlungsanbieter" in await v.page.inner_text("body")
        began = time.monotonic()
        await v.goto(f"/antraege/{case_id}")

        async def expired() -> bool:
            return "abgelaufen" in await v.page.inner_text("#zahlung")

        await eventually(expired, timeout=ATTEMPT_SECONDS * 4, interval=0.5)  # the section updates itself
        waited = time.monotonic() - began
        await v.check()
        section = await v.page.inner_text("#zahlung")
        assert "nicht rechtzeitig abgeschlossen" in section and "nichts abgebucht" in section, section
        assert waited >= ATTEMPT_SECONDS / 2, waited
        assert "Eingegangen" in await v.main()  # not processed without the fee

        # "Meine Anträge" says so too, and leads back to the case
        await v.goto("/antraege")
        await v.click("link", "Zahlung abgelaufen – erneut bezahlen")
        await v.click("button", "Erneut bezahlen")

        async def payable() -> bool:
            await v.page.goto(f"{v.base}/antraege/{case_id}")
            return await v.page.get_by_role("link", name="Jetzt bezahlen").count() > 0

        await eventually(payable, timeout=60, interval=0.5)
        await v.check()
        await v.click("link", "Jetzt bezahlen")
        await v.page.get_by_label("Kreditkarte").check()
        await v.click("button", "Bezahlen")

        async def paid() -> bool:
            return "Bezahlt:" in await v.page.inner_text("#zahlung")

        await eventually(paid, timeout=60, interval=0.5)
        await v.check()
        delivered = await city.delivered(case_id)
        row = await postkorb_row(v, delivered["aktenzeichen"])
        assert "Sperrmüll" in row, row
    attempts = completed(city, case_id)
    assert [a["attempt"] for a in attempts] == [2] and attempts[0]["kassenzeichen"] == first["kassenzeichen"]

    # the receipt (Zahlungsbestätigung) is filed in the case's E-Akte
    async def receipt_filed() -> bool:
        return any(
            e["type"].endswith("eakte.document.filed.v1") and e["data"]["document_type"] == "quittung"
            for e in city.integrator.for_case(case_id)
        )

    await eventually(receipt_filed, timeout=60, interval=0.5)


async def test_the_redirect_never_comes_back_and_the_poll_finds_the_payment(
    city: City, http: httpx.AsyncClient
) -> None:
    case_id, offen = await applied(city, http)
    back = await choose(offen["zahlungsseite"], "bezahlen")
    assert back.status_code == 303  # …and the browser is closed: the portal never hears of it
    paid = await city.payment(http, case_id, "bezahlt")
    assert paid["betrag_cent"] == offen["betrag_cent"]
    await city.delivered(case_id)


async def test_a_tampered_return_url_changes_nothing_and_another_case_is_refused(
    city: City, http: httpx.AsyncClient
) -> None:
    case_id, offen = await applied(city, http)
    for query in (
        "?status=PAYED&grosAmount=0.01",
        f"?transactionId=TX{'0' * 30}&status=PAYED",
        "?amount=-1&kassenzeichen=%3Cscript%3E",
    ):
        r = await http.get(f"/antraege/{case_id}/zahlung{query}")
        assert r.status_code == 303, (query, r.status_code)
    state = (await http.get(f"/api/antraege/{case_id}")).json()["zahlung"]
    assert state["status"] == "offen" and state["betrag_cent"] == offen["betrag_cent"], state
    # a case that is not hers (or does not exist): refused, and nothing is emitted
    stranger = "00000000-0000-4000-8000-000000000000"
    for path in (f"/antraege/{stranger}/zahlung", f"/antraege/{stranger}/zahlung/stand"):
        r = await http.get(path)
        assert r.status_code in (403, 404), (path, r.status_code)
    token = TOKEN.search((await http.get(f"/antraege/{case_id}")).text)  # the page's logout form
    assert token is not None
    r = await http.post(
        f"/antraege/{stranger}/zahlung/neu",
        data={"_csrf_token": token.group(1)},
        headers={"Accept": "application/json"},  # the refusal's reason, not the error page
    )
    assert r.status_code == 403 and "gehört nicht zu Ihrem Konto" in r.json()["detail"], r.text
    # and an open payment cannot be "started again" (409 with a German message)
    r = await http.post(f"/antraege/{case_id}/zahlung/neu", data={"_csrf_token": token.group(1)})
    assert r.status_code == 409 and "keine neue Zahlung möglich" in r.text, r.status_code
    await choose(offen["zahlungsseite"], "bezahlen")
    await city.payment(http, case_id, "bezahlt")


async def test_sigkill_between_payment_and_status_pays_once_and_loses_nothing(
    city: City, platform: EmbeddedPlatform, http: httpx.AsyncClient
) -> None:
    case_id, offen = await applied(city, http)
    await choose(offen["zahlungsseite"], "bezahlen")  # paid at the provider…
    platform.kill()  # …and the platform (with its provider) dies before it asked for the status
    platform.start()
    await city.integrator.close()
    await city.integrator.connect(**platform.nats_credentials("integrator"))
    paid = await city.payment(http, case_id, "bezahlt")  # the session outlives the restart
    await city.delivered(case_id)

    async def one_completion() -> bool:
        return len(completed(city, case_id)) >= 1

    await eventually(one_completion, timeout=60)
    assert len(completed(city, case_id)) == 1
    transactions = await provider_transactions(platform, paid["kassenzeichen"])
    assert [t.status for t in transactions] == ["PAYED"], transactions  # one attempt, paid once
