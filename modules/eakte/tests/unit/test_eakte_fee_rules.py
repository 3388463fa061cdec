"""Rules of fees in the E-Akte: the Kassenzeichen and its check digit, the XBezahldienste
texts, refund checks, amounts, and what a settled transaction means."""

from __future__ import annotations

from datetime import date

import pytest

from rathaus.eakte.domain import (
    DecisionRefused,
    check_refund,
    claim_description,
    claim_purpose,
    csv_amount,
    kassenzeichen,
    local_day,
    parse_euro,
    reconcile,
    valid_kassenzeichen,
)


def test_a_kassenzeichen_has_a_check_digit_that_catches_a_typo() -> None:
    kz = kassenzeichen(2026, 1)
    assert len(kz) == 12 and kz.startswith("20260000001") and valid_kassenzeichen(kz)
    for i in range(12):
        wrong = kz[:i] + str((int(kz[i]) + 1) % 10) + kz[i + 1 :]
        assert not valid_kassenzeichen(wrong), wrong
    swapped = kz[:-3] + kz[-2] + kz[-3] + kz[-1]
    assert swapped == kz or not valid_kassenzeichen(swapped)
    assert not valid_kassenzeichen("2026000000A1") and not valid_kassenzeichen(kz[:-1])
    with pytest.raises(ValueError, match="erschöpft"):
        kassenzeichen(2026, 10_000_000)


def test_purpose_and_description_fit_xbezahldienste() -> None:
    assert claim_purpose("202600000018") == "Gebühr 202600000018"
    assert len(claim_purpose("9" * 40)) == 27
    text = claim_description("x" * 400, "523.11-2026-000001")
    assert len(text) == 250 and text.endswith(", Az. 523.11-2026-000001")


def test_the_local_day_of_an_application() -> None:
    assert local_day("2026-12-31T23:30:00+00:00") == date(2027, 1, 1)  # already 1 January in Munich
    assert local_day("2026-12-31T22:30:00+00:00") == date(2026, 12, 31)
    assert local_day("2026-06-01") == date(2026, 6, 1)


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("30,00", 3000),
        ("30", 3000),
        ("1.234,50 €", 123450),
        ("0,5", 50),
        ("abc", None),
        ("-3", None),
        ("1,234", None),
    ],
)
def test_euro_amounts_as_staff_type_them(text: str, cents: int | None) -> None:
    assert parse_euro(text) == cents


def test_csv_amounts_have_a_decimal_comma() -> None:
    assert csv_amount(123450) == "1234,50" and csv_amount(-3000) == "-30,00" and csv_amount(5) == "0,05"


def test_a_refund_needs_an_amount_a_reason_and_a_second_person() -> None:
    note = "Der Antrag wurde abgelehnt."
    assert (
        check_refund(
            "30,00", note, limit_cents=3000, status="offen", proposed_by=None, me="a", proposing=True
        )
        == 3000
    )
    with pytest.raises(DecisionRefused, match="höchstens 30,00 EUR"):
        check_refund(
            "30,01", note, limit_cents=3000, status="offen", proposed_by=None, me="a", proposing=True
        )
    with pytest.raises(DecisionRefused, match="Betrag in Euro"):
        check_refund("", note, limit_cents=3000, status="offen", proposed_by=None, me="a", proposing=True)
    with pytest.raises(DecisionRefused, match="Vier-Augen-Prinzip"):
        check_refund(
            "", "", limit_cents=3000, status="vorgeschlagen", proposed_by="a", me="a", proposing=False
        )
    assert (
        check_refund(
            "", "", limit_cents=3000, status="vorgeschlagen", proposed_by="a", me="b", proposing=False
        )
        == 0
    )
    with pytest.raises(DecisionRefused, match="bereits gebucht"):
        check_refund("", "", limit_cents=3000, status="gebucht", proposed_by="a", me="b", proposing=False)


def test_what_a_settled_transaction_means() -> None:
    claim = {"claim_id": "c", "kassenzeichen": "202600000018", "amount_cents": 3000}
    assert [f.kind for f in reconcile("t1", "x", 3000, None, set())] == ["ohne_vorgang"]
    assert [f.kind for f in reconcile("t1", "", 3000, claim, set())] == ["abgeglichen"]
    assert [f.kind for f in reconcile("t1", "", 3000, claim, {"t1"})] == ["abgeglichen"]
    assert [f.kind for f in reconcile("t1", "", 2000, claim, set())] == ["unterzahlt"]
    assert [f.kind for f in reconcile("t1", "", 4000, claim, set())] == ["ueberzahlt"]
    twice = reconcile("t2", "", 3000, claim, {"t1"})
    assert [f.kind for f in twice] == ["abgeglichen", "doppelt"]
    # the double payment's key is the claim's: a third payment does not list it again
    assert twice[1].key == reconcile("t3", "", 3000, claim, {"t1", "t2"})[1].key
