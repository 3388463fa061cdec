"""The payment port against the test provider as a real server: ``rathaus payprovider``
as its own process on a free port, spoken to over HTTP like a real XBezahldienste
provider; stopped and restarted as a provider outage."""

from __future__ import annotations

import datetime
import re
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from rathaus.platform.kernel.payment import (
    PaymentItem,
    PaymentProviderDown,
    PaymentRefused,
    PaymentRequest,
    PaymentStatus,
    XBezahldiensteClient,
    embedded_provider_credentials,
    payment_provider,
)
from rathaus.platform.kernel.settings import PaymentSettings, Settings
from rathaus.platform.runtime.payprovider import TestPaymentProvider
from rathaus.platform.runtime.payprovider.controls import TestProviderControls, choose
from rathaus.platform.runtime.processes import ChildProcess, RuntimeProblem, free_port

ORIGINATOR, ENDPOINT = "rathaus-demo", "gebuehren"


@dataclass
class Provider:
    data_dir: Path
    port: int
    process: ChildProcess

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **changes: str) -> XBezahldiensteClient:
        user, password = embedded_provider_credentials(self.data_dir)
        options = {"originator_id": ORIGINATOR, "endpoint_id": ENDPOINT, "user": user, "password": password}
        options.update(changes)
        return XBezahldiensteClient(
            self.base_url,
            options["originator_id"],
            options["endpoint_id"],
            user=options["user"],
            password=options["password"],
            timeout=5,
            settlement_url=f"{self.base_url}/settlement/{ORIGINATOR}/{ENDPOINT}/{{day}}",
        )

    def controls(self) -> TestProviderControls:
        return TestProviderControls(self.base_url, *embedded_provider_credentials(self.data_dir))


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """``rathaus payprovider`` as a real process (the CLI path)."""
    data_dir = tmp_path_factory.mktemp("payprovider")
    port = free_port()
    rathaus = str(Path(sys.executable).parent / "rathaus")
    process = ChildProcess(
        "payprovider",
        [rathaus, "payprovider", "--port", str(port), "--data-dir", str(data_dir)],
        data_dir / "payprovider.log",
        port,
    )
    process.start()
    try:
        yield Provider(data_dir, port, process)
    finally:
        process.stop()


@pytest.fixture
async def client(provider: Provider) -> AsyncIterator[XBezahldiensteClient]:
    client = provider.client()
    try:
        yield client
    finally:
        await client.aclose()


def request(
    *cents: int, reference: str = "", redirect: str = "https://rathaus.example/zurueck"
) -> PaymentRequest:
    items = [
        PaymentItem(id=str(n), reference=f"pos-{n}", description=f"Position {n}", total_cents=c)
        for n, c in enumerate(cents or (3000,), 1)
    ]
    return PaymentRequest(
        request_id=str(uuid.uuid4()),
        amount_cents=sum(i.total_cents for i in items),
        purpose="Gebühr Meldebescheinigung",
        description="Meldebescheinigung für den Test",
        redirect_url=redirect,
        items=items,
        reference=reference or f"KZ-{uuid.uuid4().hex[:10]}",
    )


async def test_create_then_pay_cancel_or_fail_on_the_page(client: XBezahldiensteClient) -> None:
    outcomes = {
        "bezahlen": PaymentStatus.PAYED,
        "abbrechen": PaymentStatus.CANCELED,
        "fehlschlagen": PaymentStatus.FAILED,
    }
    for choice, expected in outcomes.items():
        req = request(3000, redirect=f"https://rathaus.example/zurueck/{choice}")
        tx = await client.create(req)
        assert tx.status is PaymentStatus.INITIAL and tx.amount_cents == 3000
        assert tx.reference == req.reference and tx.request_id == req.request_id
        async with httpx.AsyncClient() as http:
            page = await http.get(tx.url)
        assert "Test-Zahlungsanbieter – es wird kein Geld bewegt" in page.text
        assert "30,00 €" in page.text and "Gebühr Meldebescheinigung" in page.text
        assert "Meldebescheinigung für den Test" in page.text
        for button in ("Bezahlen", "Abbrechen", "Fehlschlagen lassen"):
            assert f">{button}</button>" in page.text
        answer = await choose(tx.url, choice, "CREDITCARD")
        assert answer.status_code == 303
        assert answer.headers["location"] == f"https://rathaus.example/zurueck/{choice}"
        now = await client.status(tx.transaction_id)
        assert now.status is expected
        assert now.payment_method == ("CREDITCARD" if expected is PaymentStatus.PAYED else "")
        assert bool(now.paid_at) is (expected is PaymentStatus.PAYED)
        assert now.url == ""


async def test_a_final_status_cannot_be_changed_from_the_page(client: XBezahldiensteClient) -> None:
    tx = await client.create(request(500))
    async with httpx.AsyncClient() as http:
        page = await http.get(tx.url)
        token = re.search(r'name="token" value="([^"]+)"', page.text)
        assert token is not None
        forged = await http.post(
            tx.url, data={"token": "falsch", "zahlungsart": "GIROPAY", "auswahl": "bezahlen"}
        )
        assert forged.status_code == 403 and "Formular ungültig" in forged.text
        assert (await client.status(tx.transaction_id)).status is PaymentStatus.INITIAL
        paid = await http.post(
            tx.url, data={"token": token.group(1), "zahlungsart": "PAYPAL", "auswahl": "bezahlen"}
        )
        assert paid.status_code == 303
        again = await http.post(tx.url, data={"token": token.group(1), "auswahl": "abbrechen"})
        assert again.status_code == 409 and "kann nicht mehr geändert werden" in again.text
        final_page = await http.get(tx.url)
        assert "<button" not in final_page.text and "bezahlt" in final_page.text
    assert (await client.status(tx.transaction_id)).status is PaymentStatus.PAYED


async def test_a_repeated_request_id_gives_the_same_transaction(client: XBezahldiensteClient) -> None:
    req = request(1000)
    first = await client.create(req)
    second = await client.create(req)
    assert second.transaction_id == first.transaction_id and second.status is PaymentStatus.INITIAL
    day = datetime.datetime.now(datetime.UTC).date()
    listed = [t for t in await client.settlement(day) if t.request_id == req.request_id]
    assert len(listed) == 1


async def test_amounts_are_exact_on_the_wire(provider: Provider, client: XBezahldiensteClient) -> None:
    tx = await client.create(request(10, 20))
    assert tx.amount_cents == 30
    user, password = embedded_provider_credentials(provider.data_dir)
    async with httpx.AsyncClient(auth=(user, password)) as http:
        raw = await http.get(tx.status_url)
    assert '"grosAmount":0.30' in raw.text
    assert '"totalNetAmount":0.10' in raw.text and '"totalNetAmount":0.20' in raw.text


@pytest.mark.parametrize(
    ("changes", "code", "german"),
    [
        ({"purpose": "P" * 28}, "VALIDATION_ERROR", "höchstens 27 Zeichen"),
        ({"purpose": ""}, "VALIDATION_ERROR", "Verwendungszweck (purpose) fehlt"),
        ({"description": "D" * 251}, "VALIDATION_ERROR", "höchstens 250 Zeichen"),
        ({"request_id": "R" * 37}, "VALIDATION_ERROR", "höchstens 36 Zeichen"),
        ({"amount_cents": 0, "items": []}, "VALIDATION_ERROR", "größer als 0"),
        ({"amount_cents": 100_000_000}, "VALIDATION_ERROR", "höchstens 999999 Euro"),
        ({"amount_cents": 3001}, "CALCULATION_ERROR", "Summe der Positionen (30,00 Euro)"),
    ],
)
async def test_invalid_requests_are_refused_with_code_and_german_detail(
    client: XBezahldiensteClient, changes: dict[str, object], code: str, german: str
) -> None:
    base = request(3000)
    fields = {f: getattr(base, f) for f in base.__struct_fields__}
    fields.update(changes)
    with pytest.raises(PaymentRefused) as refused:
        await client.create(PaymentRequest(**fields))  # type: ignore[arg-type]
    assert refused.value.code == code and refused.value.status == 400
    assert german in refused.value.detail


async def test_unknown_endpoint_and_wrong_credentials_are_refused(provider: Provider) -> None:
    for changes, code, german in [
        ({"endpoint_id": "kantine"}, "NO_VALID_ORIGINATOR_OR_ENDPOINT", "nicht eingerichtet"),
        ({"password": "falsch"}, "FORBIDDEN", "Zugangsdaten"),
        ({"user": "fremd"}, "FORBIDDEN", "Zugangsdaten"),
    ]:
        client = provider.client(**changes)
        try:
            with pytest.raises(PaymentRefused) as refused:
                await client.create(request(100))
            assert refused.value.code == code and german in refused.value.detail
        finally:
            await client.aclose()
    async with httpx.AsyncClient() as http:  # no credentials at all, on the controls too
        for path in (f"/paymenttransaction/{ORIGINATOR}/{ENDPOINT}/x", "/_test/orphans"):
            anonymous = await http.request("POST" if "_test" in path else "GET", provider.base_url + path)
            assert anonymous.status_code == 403
            assert anonymous.headers["content-type"].startswith("application/problem+json")
            assert anonymous.json()["code"] == "FORBIDDEN"


async def test_an_unknown_transaction_is_refused(client: XBezahldiensteClient) -> None:
    with pytest.raises(PaymentRefused) as refused:
        await client.status("TXgibtesnicht")
    assert refused.value.code == "NOT_FOUND" and "gibt es hier nicht" in refused.value.detail


async def test_settlement_of_the_day_and_the_test_controls(
    provider: Provider, client: XBezahldiensteClient
) -> None:
    controls = provider.controls()
    failed_then_paid = await client.create(request(2000))
    await choose(failed_then_paid.url, "fehlschlagen")
    assert (await client.status(failed_then_paid.transaction_id)).status is PaymentStatus.FAILED
    late = await controls.set_status(failed_then_paid.transaction_id, PaymentStatus.PAYED)
    assert late.status is PaymentStatus.PAYED and late.paid_cents == 2000
    assert (await client.status(failed_then_paid.transaction_id)).status is PaymentStatus.PAYED
    underpaid = await client.create(request(3000))
    await controls.set_status(underpaid.transaction_id, PaymentStatus.PAYED, paid_cents=2550)
    orphan_reference = f"KZ-ORPHAN-{uuid.uuid4().hex[:8]}"
    orphan = await controls.orphan(orphan_reference, 1234)
    assert orphan.status is PaymentStatus.PAYED and orphan.reference == orphan_reference
    # a payment booked on another day is in that day's report (and the day it was created)
    earlier = await client.create(request(700))
    await controls.set_status(
        earlier.transaction_id, PaymentStatus.PAYED, paid_at="2025-12-30T23:59:00+00:00"
    )
    today = datetime.datetime.now(datetime.UTC).date()
    report = {t.transaction_id: t for t in await client.settlement(today)}
    assert report[failed_then_paid.transaction_id].settled_cents == 2000
    assert report[underpaid.transaction_id].settled_cents == 2550
    assert report[underpaid.transaction_id].amount_cents == 3000
    assert report[orphan.transaction_id].reference == orphan_reference
    assert report[orphan.transaction_id].settled_cents == 1234
    assert report[earlier.transaction_id].paid_at == "2025-12-30T23:59:00+00:00"
    old_day = {t.transaction_id for t in await client.settlement(datetime.date(2025, 12, 30))}
    assert earlier.transaction_id in old_day
    assert underpaid.transaction_id not in old_day
    assert await client.settlement(datetime.date(2001, 1, 1)) == []


async def test_the_settings_reach_the_embedded_provider(provider: Provider) -> None:
    settings = Settings(data_dir=provider.data_dir, payment=PaymentSettings(port=provider.port))
    client = payment_provider(settings)
    try:
        assert client.name == "test-provider"
        tx = await client.create(request(4200))
        assert (await client.status(tx.transaction_id)).amount_cents == 4200
        assert any(
            t.transaction_id == tx.transaction_id for t in await client.settlement(datetime.date.today())
        )
    finally:
        await client.aclose()
    real = payment_provider(
        Settings(data_dir=provider.data_dir, payment=PaymentSettings(url="https://pay.example"))
    )
    try:
        assert real.name == "xbezahldienste" and real.settlement_url is None
    finally:
        await real.aclose()


async def test_a_provider_outage_and_restart_lose_nothing(tmp_path: Path) -> None:
    port = free_port()
    rathaus = str(Path(sys.executable).parent / "rathaus")
    process = ChildProcess(
        "payprovider",
        [rathaus, "payprovider", "--port", str(port), "--data-dir", str(tmp_path)],
        tmp_path / "payprovider.log",
        port,
    )
    process.start()
    provider = Provider(tmp_path, port, process)
    client = provider.client()
    try:
        req = request(1500)
        tx = await client.create(req)
        await choose(tx.url, "bezahlen")
        process.kill()  # as hard as an outage gets
        with pytest.raises(PaymentProviderDown):
            await client.status(tx.transaction_id)
        with pytest.raises(PaymentProviderDown):
            await client.create(request(100))
        process.start()
        back = await client.status(tx.transaction_id)
        assert back.status is PaymentStatus.PAYED and back.amount_cents == 1500
        assert (await client.create(req)).transaction_id == tx.transaction_id
    finally:
        await client.aclose()
        process.stop()


async def test_in_a_thread_as_rathaus_up_runs_it_with_its_health(tmp_path: Path) -> None:
    provider = TestPaymentProvider(tmp_path, free_port(), [(ORIGINATOR, ENDPOINT)])
    provider.start()
    try:
        assert (await provider.health())["ok"] is True
        with pytest.raises(RuntimeProblem, match="already taken"):
            TestPaymentProvider(tmp_path, provider.port, [(ORIGINATOR, ENDPOINT)]).start()
    finally:
        provider.stop()
    assert (await provider.health())["ok"] is False
