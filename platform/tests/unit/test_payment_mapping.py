"""The payment port's arithmetic and JSON mapping, and the test provider's validation."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from rathaus.platform.kernel.payment import (
    DECODER,
    ENCODER,
    PaymentItem,
    PaymentRefused,
    PaymentRequest,
    PaymentStatus,
    XBezahldiensteClient,
    cents,
    euros,
    problem_code,
    request_json,
    transaction_from_json,
)
from rathaus.platform.runtime.payprovider.validation import Problem, validate


def test_euros_and_cents_are_exact() -> None:
    assert euros(30) == Decimal("0.30") and str(euros(30)) == "0.30"
    assert euros(3000) == Decimal("30.00") and str(euros(3000)) == "30.00"
    assert euros(99999900) == Decimal("999999.00")
    assert cents(Decimal("0.1") + Decimal("0.2")) == 30
    assert cents(12) == 1200
    assert cents("19.99") == 1999
    assert cents(0.29) == 29  # a float from elsewhere: its shortest repr, not 0.28999…
    assert sum(cents(x) for x in ("0.10", "0.20")) == cents("0.30")
    with pytest.raises(ValueError, match="mehr als zwei Nachkommastellen"):
        cents("0.105")
    with pytest.raises(ValueError, match="keine Zahl"):
        cents("dreißig")


def test_amounts_travel_as_json_numbers_with_two_decimals() -> None:
    assert ENCODER.encode({"grosAmount": euros(30)}) == b'{"grosAmount":0.30}'
    decoded = DECODER.decode(b'{"grosAmount": 0.30, "items": [{"totalNetAmount": 0.1}]}')
    assert decoded["grosAmount"] == Decimal("0.30") and isinstance(decoded["grosAmount"], Decimal)
    assert cents(decoded["items"][0]["totalNetAmount"]) == 10


def _request(**changes: object) -> PaymentRequest:
    fields: dict[str, object] = {
        "request_id": "a1b2",
        "amount_cents": 3010,
        "purpose": "Gebühr Meldebescheinigung",
        "description": "Meldebescheinigung, Aktenzeichen 523.11-2026-7",
        "redirect_url": "https://rathaus.example/zahlung/zurueck",
        "reference": "KZ-2026-000042",
        "items": [
            PaymentItem(
                id="1",
                reference="",
                description="Gebühr",
                total_cents=3000,
                booking_data={"haushaltsstelle": "1100.1100", "objektnummer": "O-7"},
            ),
            PaymentItem(id="2", reference="porto", description="Porto", total_cents=10, quantity=2),
        ],
    }
    fields.update(changes)
    return PaymentRequest(**fields)  # type: ignore[arg-type]


def test_request_json_uses_the_xbezahldienste_names() -> None:
    body = request_json(_request(), datetime.datetime(2026, 3, 1, 9, 30, tzinfo=datetime.UTC))
    assert body["requestId"] == "a1b2"
    assert body["requestTimestamp"] == "2026-03-01T09:30:00+00:00"
    assert body["currency"] == "EUR"
    assert body["grosAmount"] == Decimal("30.10")
    assert body["purpose"] == "Gebühr Meldebescheinigung"
    assert body["redirectUrl"] == "https://rathaus.example/zahlung/zurueck"
    first, second = body["items"]
    assert first["reference"] == "KZ-2026-000042"  # no own reference: the Kassenzeichen
    assert first["bookingData"] == {
        "haushaltsstelle": "1100.1100",
        "objektnummer": "O-7",
        "kassenzeichen": "KZ-2026-000042",
    }
    assert first["totalNetAmount"] == Decimal("30.00") and first["taxRate"] == 0
    assert first["singleNetAmount"] == Decimal("30.00") and first["quantity"] == 1
    assert second["reference"] == "porto" and second["quantity"] == 2
    assert second["singleNetAmount"] == Decimal("0.05") and second["totalNetAmount"] == Decimal("0.10")
    assert "requestor" not in body  # no personal data of the payer leaves Rathaus
    # the provider accepts what the client sends, and reads back amount and Kassenzeichen
    assert validate(DECODER.decode(ENCODER.encode(body))) == (3010, "KZ-2026-000042")


def test_a_transaction_is_read_from_xbezahldienste_json() -> None:
    data = DECODER.decode(
        b"""{"paymentRequest": {"requestId": "a1b2", "grosAmount": 30.10,
               "requestTimestamp": "2026-03-01T09:30:00+00:00"},
             "paymentInformation": {"transactionId": "T-1", "transactionReference": "KZ-9",
               "transactionUrl": "https://pay.example/api/T-1",
               "transactionRedirectUrl": "https://pay.example/page/T-1",
               "paymentMethod": "GIROPAY", "status": "INITIAL", "statusDetail": "offen"}}"""
    )
    tx = transaction_from_json(data)
    assert (tx.transaction_id, tx.request_id, tx.reference) == ("T-1", "a1b2", "KZ-9")
    assert tx.url == "https://pay.example/page/T-1" and tx.status_url == "https://pay.example/api/T-1"
    assert tx.status is PaymentStatus.INITIAL and tx.amount_cents == 3010
    assert tx.created_at == "2026-03-01T09:30:00+00:00" and tx.paid_at == "" and tx.paid_cents is None
    paid = transaction_from_json(
        {
            **data,
            "paymentInformation": {
                **data["paymentInformation"],
                "status": "PAYED",
                "transactionTimestamp": "2026-03-01T09:41:00+00:00",
            },
            "paidAmount": Decimal("25.00"),
        }
    )
    assert paid.url == ""  # the payment page is gone once the transaction is final
    assert paid.paid_at == "2026-03-01T09:41:00+00:00"
    assert paid.paid_cents == 2500 and paid.settled_cents == 2500
    with pytest.raises(PaymentRefused) as unknown:
        transaction_from_json({"paymentInformation": {"transactionId": "T", "status": "REVERSED"}})
    assert unknown.value.code == "UNKNOWN_STATUS"


def test_problem_codes_come_from_code_or_type() -> None:
    assert problem_code({"code": "CALCULATION_ERROR"}) == "CALCULATION_ERROR"
    assert problem_code({"type": "https://example.org/problems/validation-error"}) == "VALIDATION_ERROR"
    assert problem_code({"type": "urn:xbezahldienste:problem:FORBIDDEN"}) == "FORBIDDEN"
    assert problem_code({"type": "about:blank"}) == ""


async def test_a_real_provider_without_a_settlement_report_is_refused_in_german() -> None:
    client = XBezahldiensteClient("https://pay.example", "o", "e")
    try:
        with pytest.raises(PaymentRefused) as refused:
            await client.settlement(datetime.date(2026, 3, 1))
        assert refused.value.code == "NO_SETTLEMENT_REPORT"
        assert "Abrechnungsbericht" in refused.value.detail
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("change", "code", "german"),
    [
        ({"purpose": ""}, "VALIDATION_ERROR", "Verwendungszweck (purpose) fehlt"),
        ({"purpose": "x" * 28}, "VALIDATION_ERROR", "höchstens 27 Zeichen"),
        ({"description": "x" * 251}, "VALIDATION_ERROR", "höchstens 250 Zeichen"),
        ({"requestId": "x" * 37}, "VALIDATION_ERROR", "höchstens 36 Zeichen"),
        ({"redirectUrl": "javascript:alert(1)"}, "VALIDATION_ERROR", "muss mit http:// oder https://"),
        ({"currency": "USD"}, "VALIDATION_ERROR", "nur EUR"),
        ({"grosAmount": Decimal("0.00")}, "VALIDATION_ERROR", "größer als 0"),
        ({"grosAmount": Decimal("1000000.00")}, "VALIDATION_ERROR", "höchstens 999999 Euro"),
        ({"grosAmount": Decimal("0.301")}, "VALIDATION_ERROR", "mehr als zwei Nachkommastellen"),
        ({"items": []}, "VALIDATION_ERROR", "mindestens eine Position"),
        ({"grosAmount": Decimal("0.31")}, "CALCULATION_ERROR", "stimmt nicht mit dem Betrag"),
    ],
)
def test_the_provider_validates_like_a_real_one(change: dict[str, object], code: str, german: str) -> None:
    body = DECODER.decode(
        ENCODER.encode(
            request_json(
                _request(
                    amount_cents=30,
                    items=[
                        PaymentItem(id="1", reference="a", description="a", total_cents=10),
                        PaymentItem(id="2", reference="b", description="b", total_cents=20),
                    ],
                )
            )
        )
    )
    assert validate(body) == (30, "KZ-2026-000042")
    with pytest.raises(Problem) as problem:
        validate({**body, **change})
    assert problem.value.code == code
    assert german in problem.value.detail
