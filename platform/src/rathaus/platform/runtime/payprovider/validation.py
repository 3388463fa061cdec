"""What a real XBezahldienste provider checks in a ``paymentRequest``, with German details."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rathaus.platform.kernel.payment import cents


class Problem(Exception):
    """An RFC 7807 problem with an XBezahldienste code."""

    TITLES = {
        "VALIDATION_ERROR": "Ungültige Zahlungsanforderung",
        "CALCULATION_ERROR": "Beträge passen nicht zusammen",
        "BOOKING_DATA_MISSING": "Buchungsdaten fehlen",
        "NO_VALID_ORIGINATOR_OR_ENDPOINT": "Unbekannter Auftraggeber oder Endpunkt",
        "FORBIDDEN": "Zugriff verweigert",
        "PAYMENT_EXISTS": "Zahlung existiert bereits",
        "NOT_FOUND": "Transaktion nicht gefunden",
    }
    STATUS = {
        "VALIDATION_ERROR": 400,
        "CALCULATION_ERROR": 400,
        "BOOKING_DATA_MISSING": 400,
        "NO_VALID_ORIGINATOR_OR_ENDPOINT": 404,
        "FORBIDDEN": 403,
        "PAYMENT_EXISTS": 409,
        "NOT_FOUND": 404,
    }

    def __init__(self, code: str, detail: str, **extra: str) -> None:
        super().__init__(detail)
        self.code, self.detail, self.extra = code, detail, extra

    @property
    def status(self) -> int:
        return self.STATUS.get(self.code, 400)

    def body(self, instance: str) -> dict[str, Any]:
        return {
            "type": f"urn:xbezahldienste:problem:{self.code}",
            "code": self.code,
            "title": self.TITLES.get(self.code, "Fehler"),
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            **self.extra,
        }


MAX_AMOUNT = Decimal(999999)
LIMITS = {"requestId": 36, "purpose": 27, "description": 250, "redirectUrl": 2082}
NAMES = {
    "requestId": "Die Anfrage-ID (requestId)",
    "purpose": "Der Verwendungszweck (purpose)",
    "description": "Die Beschreibung (description)",
    "redirectUrl": "Die Rücksprungadresse (redirectUrl)",
}


def _text(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise Problem("VALIDATION_ERROR", f"{NAMES[field]} fehlt.")
    if len(value) > LIMITS[field]:
        raise Problem(
            "VALIDATION_ERROR",
            f"{NAMES[field]} ist zu lang: höchstens {LIMITS[field]} Zeichen, hier {len(value)}.",
        )
    return value


def _amount(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise Problem("VALIDATION_ERROR", f"{what} fehlt oder ist keine Zahl.")
    amount = Decimal(value)
    try:
        cents(amount)
    except ValueError:
        raise Problem("VALIDATION_ERROR", f"{what} hat mehr als zwei Nachkommastellen.") from None
    return amount


def validate(body: Any) -> tuple[int, str]:
    """Check a paymentRequest; returns (amount in cents, Kassenzeichen) or raises a Problem."""
    if not isinstance(body, dict):
        raise Problem("VALIDATION_ERROR", "Die Anfrage ist kein JSON-Objekt.")
    for field in ("requestId", "purpose", "description", "redirectUrl"):
        _text(body, field)
    if not str(body["redirectUrl"]).startswith(("http://", "https://")):
        raise Problem(
            "VALIDATION_ERROR", "Die Rücksprungadresse (redirectUrl) muss mit http:// oder https:// beginnen."
        )
    if body.get("currency", "EUR") != "EUR":
        raise Problem("VALIDATION_ERROR", "Als Währung (currency) ist nur EUR zulässig.")
    gros = _amount(body.get("grosAmount"), "Der Betrag (grosAmount)")
    if gros <= 0:
        raise Problem("VALIDATION_ERROR", "Der Betrag (grosAmount) muss größer als 0 sein.")
    if gros > MAX_AMOUNT:
        raise Problem("VALIDATION_ERROR", "Der Betrag (grosAmount) darf höchstens 999999 Euro betragen.")
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise Problem("VALIDATION_ERROR", "Die Zahlungsanforderung braucht mindestens eine Position (items).")
    if len(items) > 99:
        raise Problem(
            "VALIDATION_ERROR", f"Höchstens 99 Positionen (items) sind zulässig, hier {len(items)}."
        )
    total = Decimal(0)
    for number, item in enumerate(items, 1):
        total += _item(item, number)
    if total != gros:
        raise Problem(
            "CALCULATION_ERROR",
            f"Die Summe der Positionen ({_de(total)} Euro) stimmt nicht mit dem Betrag "
            f"(grosAmount, {_de(gros)} Euro) überein.",
        )
    first = items[0]
    booking = first.get("bookingData") or {}
    reference = str(booking.get("kassenzeichen") or first.get("reference") or "")
    return cents(gros), reference


def _item(item: Any, number: int) -> Decimal:
    where = f"Position {number}"
    if not isinstance(item, dict):
        raise Problem("VALIDATION_ERROR", f"{where} ist kein JSON-Objekt.")
    for field, limit in (("id", 36), ("reference", 36), ("description", 250)):
        value = item.get(field)
        if field != "reference" and (not isinstance(value, str) or not value.strip()):
            raise Problem("VALIDATION_ERROR", f"{where}: das Feld {field} fehlt.")
        if isinstance(value, str) and len(value) > limit:
            raise Problem("VALIDATION_ERROR", f"{where}: das Feld {field} ist länger als {limit} Zeichen.")
    quantity = item.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 999999:
        raise Problem("VALIDATION_ERROR", f"{where}: die Menge (quantity) muss eine ganze Zahl ab 1 sein.")
    net = _amount(item.get("totalNetAmount"), f"{where}: der Nettobetrag (totalNetAmount)")
    tax = _amount(item.get("totalTaxAmount", 0), f"{where}: der Steuerbetrag (totalTaxAmount)")
    if net < 0 or tax < 0:
        raise Problem("VALIDATION_ERROR", f"{where}: Beträge dürfen nicht negativ sein.")
    if "singleNetAmount" in item:
        single = _amount(item["singleNetAmount"], f"{where}: der Einzelbetrag (singleNetAmount)")
        if single * quantity != net:
            raise Problem(
                "CALCULATION_ERROR",
                f"{where}: Einzelbetrag × Menge ({_de(single)} × {quantity}) ergibt nicht "
                f"den Nettobetrag {_de(net)} Euro.",
            )
    booking = item.get("bookingData", {})
    if not isinstance(booking, dict) or not all(isinstance(v, str) for v in booking.values()):
        raise Problem("VALIDATION_ERROR", f"{where}: bookingData muss Schlüssel mit Textwerten enthalten.")
    return net + tax


def _de(amount: Decimal) -> str:
    return f"{amount:.2f}".replace(".", ",")
