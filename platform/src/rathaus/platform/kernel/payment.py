"""The payment port: an XBezahldienste 1.0 client over HTTP.

Rathaus counts in cents; XBezahldienste speaks euros as JSON numbers with two decimals
(``grosAmount``). Both directions go through ``Decimal`` so 0.10 + 0.20 stays 0.30.
The result of a payment is only ever learned by a status query (``status``), never from
the citizen's redirect. Without a configured provider (``payment.url`` unset) the client
talks to the embedded test provider that ``rathaus up`` starts (no money moves).
"""

from __future__ import annotations

import datetime
import enum
import json
import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx
import msgspec

from rathaus.platform.kernel.settings import Settings


class PaymentStatus(enum.StrEnum):
    INITIAL = "INITIAL"
    PAYED = "PAYED"  # sic, as in XBezahldienste
    FAILED = "FAILED"
    CANCELED = "CANCELED"


FINAL: frozenset[PaymentStatus] = frozenset(
    {PaymentStatus.PAYED, PaymentStatus.FAILED, PaymentStatus.CANCELED}
)
PAYMENT_METHODS = ("GIROPAY", "PAYDIRECT", "CREDITCARD", "PAYPAL", "OTHER")
CENT = Decimal("0.01")


class PaymentItem(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    reference: str
    description: str
    total_cents: int
    quantity: int = 1
    booking_data: dict[str, str] = {}  # e.g. {"haushaltsstelle": ..., "objektnummer": ...}


class PaymentRequest(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str  # idempotency key, <= 36 chars
    amount_cents: int
    purpose: str  # <= 27 chars
    description: str  # <= 250 chars
    redirect_url: str
    items: list[PaymentItem]
    reference: str = ""  # our Kassenzeichen; sent in the items' reference and bookingData


class PaymentTransaction(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: str
    request_id: str
    reference: str  # the provider's transactionReference (Kassenzeichen)
    url: str  # the payment page (transactionRedirectUrl) while INITIAL, else ""
    status: PaymentStatus
    amount_cents: int  # the requested grosAmount
    payment_method: str = ""
    status_detail: str = ""
    created_at: str = ""  # ISO datetimes
    paid_at: str = ""
    status_url: str = ""  # the transaction's REST resource (transactionUrl)
    # what the provider booked, where its settlement report says (an underpayment differs)
    paid_cents: int | None = None

    @property
    def settled_cents(self) -> int:
        """The amount that counts for reconciliation: the booked amount, else the requested."""
        return self.amount_cents if self.paid_cents is None else self.paid_cents


class PaymentProviderDown(Exception):
    """Connection error, timeout or 5xx: try again later."""


class PaymentRefused(Exception):
    """The provider refused the request (problem+json 4xx); trying again will not help."""

    def __init__(self, code: str, detail: str, status: int = 0) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail, self.status = code, detail, status


def euros(cents: int) -> Decimal:
    """Cents as euros with exactly two decimals: 30 -> Decimal('0.30')."""
    return Decimal(cents).scaleb(-2).quantize(CENT)


def cents(amount: Decimal | int | float | str) -> int:
    """Euros from the wire as cents, exactly; more than two decimals is an error."""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"Betrag {amount!r} ist keine Zahl") from None
    if not value.is_finite():
        raise ValueError(f"Betrag {amount!r} ist keine Zahl")
    scaled = value.scaleb(2)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"Betrag {amount} hat mehr als zwei Nachkommastellen")
    return int(scaled)


ENCODER = msgspec.json.Encoder(decimal_format="number")
DECODER = msgspec.json.Decoder(float_hook=Decimal)  # never a float on the way in


def request_json(request: PaymentRequest, now: datetime.datetime | None = None) -> dict[str, Any]:
    """The XBezahldienste ``paymentRequest`` body. Fees carry no VAT: taxRate 0, net = gross.
    No ``requestor``: the provider needs no personal data of the payer from us."""
    stamp = (now or datetime.datetime.now(datetime.UTC)).isoformat(timespec="seconds")
    items = []
    for item in request.items:
        booking = dict(item.booking_data)
        if request.reference:
            booking.setdefault("kassenzeichen", request.reference)
        entry: dict[str, Any] = {
            "id": item.id,
            "reference": item.reference or request.reference,
            "description": item.description,
            "taxRate": Decimal(0),
            "quantity": item.quantity,
            "totalNetAmount": euros(item.total_cents),
            "totalTaxAmount": euros(0),
        }
        if item.quantity > 0 and item.total_cents % item.quantity == 0:
            entry["singleNetAmount"] = euros(item.total_cents // item.quantity)
            entry["singleTaxAmount"] = euros(0)
        entry["bookingData"] = booking
        items.append(entry)
    return {
        "requestId": request.request_id,
        "requestTimestamp": stamp,
        "currency": "EUR",
        "grosAmount": euros(request.amount_cents),
        "purpose": request.purpose,
        "description": request.description,
        "redirectUrl": request.redirect_url,
        "items": items,
    }


def transaction_from_json(data: Any) -> PaymentTransaction:
    """A PaymentTransaction from XBezahldienste JSON ({paymentRequest, paymentInformation},
    plus the settlement report's ``paidAt``/``paidAmount``/``createdAt`` where present)."""
    if not isinstance(data, dict) or not isinstance(data.get("paymentInformation"), dict):
        raise PaymentProviderDown("Antwort des Zahlungsanbieters ohne paymentInformation")
    info: dict[str, Any] = data["paymentInformation"]
    req: dict[str, Any] = data.get("paymentRequest") or {}
    try:
        status = PaymentStatus(str(info.get("status", "")))
    except ValueError:
        raise PaymentRefused(
            "UNKNOWN_STATUS", f"Unbekannter Zahlungsstatus {info.get('status')!r} vom Zahlungsanbieter"
        ) from None
    transaction_id = str(info.get("transactionId") or "")
    if not transaction_id:
        raise PaymentProviderDown("Antwort des Zahlungsanbieters ohne transactionId")
    paid_at = str(data.get("paidAt") or "")
    if not paid_at and status is PaymentStatus.PAYED:
        paid_at = str(info.get("transactionTimestamp") or "")
    paid = data.get("paidAmount")
    return PaymentTransaction(
        transaction_id=transaction_id,
        request_id=str(req.get("requestId") or ""),
        reference=str(info.get("transactionReference") or ""),
        url=str(info.get("transactionRedirectUrl") or "") if status is PaymentStatus.INITIAL else "",
        status=status,
        amount_cents=cents(req["grosAmount"]) if req.get("grosAmount") is not None else 0,
        payment_method=str(info.get("paymentMethod") or ""),
        status_detail=str(info.get("statusDetail") or ""),
        created_at=str(data.get("createdAt") or req.get("requestTimestamp") or ""),
        paid_at=paid_at,
        status_url=str(info.get("transactionUrl") or ""),
        paid_cents=cents(paid) if paid is not None else None,
    )


def problem_code(problem: dict[str, Any]) -> str:
    """The XBezahldienste error code of a problem+json body (``code``, else ``type``'s tail)."""
    code = problem.get("code")
    if isinstance(code, str) and code:
        return code
    kind = str(problem.get("type") or "")
    tail = kind.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return tail.upper().replace("-", "_") if tail and tail != "blank" else ""


class XBezahldiensteClient:
    """One provider endpoint (originator and endpoint id) of an XBezahldienste 1.0 API."""

    def __init__(
        self,
        base_url: str,
        originator_id: str,
        endpoint_id: str,
        *,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout: float = 10.0,
        settlement_url: str | None = None,
        name: str = "xbezahldienste",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.originator_id, self.endpoint_id = originator_id, endpoint_id
        self.settlement_url, self.name = settlement_url, name
        headers = {"Accept": "application/json, application/problem+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        auth = httpx.BasicAuth(user, password or "") if user and not token else None
        self._http = httpx.AsyncClient(timeout=timeout, headers=headers, auth=auth)

    @property
    def _collection(self) -> str:
        return f"{self.base_url}/paymenttransaction/{self.originator_id}/{self.endpoint_id}"

    async def create(self, request: PaymentRequest) -> PaymentTransaction:
        """Open a transaction; a repeated requestId gives the existing one, never a second."""
        body = ENCODER.encode(request_json(request))
        try:
            data = await self._call("POST", self._collection, content=body)
        except _Exists as exists:
            if not exists.transaction_id:
                raise PaymentRefused(
                    "PAYMENT_EXISTS",
                    "Die Zahlung existiert bereits, der Zahlungsanbieter nennt aber keine transactionId.",
                    409,
                ) from None
            return await self.status(exists.transaction_id)
        return transaction_from_json(data)

    async def status(self, transaction_id: str) -> PaymentTransaction:
        """The transaction's current state: the only source of truth about a payment."""
        return transaction_from_json(await self._call("GET", f"{self._collection}/{transaction_id}"))

    async def settlement(self, day: datetime.date) -> list[PaymentTransaction]:
        """The provider's daily settlement report: its transactions paid or created that day."""
        if not self.settlement_url:
            raise PaymentRefused(
                "NO_SETTLEMENT_REPORT",
                "Für diesen Zahlungsanbieter ist kein Abrechnungsbericht eingerichtet "
                "(Einstellung payment.settlement_url); ohne ihn ist kein Zahlungsabgleich möglich.",
            )
        data = await self._call("GET", self.settlement_url.replace("{day}", day.isoformat()))
        if not isinstance(data, list):
            raise PaymentProviderDown("Der Abrechnungsbericht des Zahlungsanbieters ist keine Liste")
        return [transaction_from_json(entry) for entry in data]

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, url: str, content: bytes | None = None) -> Any:
        headers = {"Content-Type": "application/json"} if content is not None else None
        try:
            response = await self._http.request(method, url, content=content, headers=headers)
        except httpx.TransportError as exc:
            raise PaymentProviderDown(
                f"Zahlungsanbieter nicht erreichbar ({type(exc).__name__}): {url}"
            ) from exc
        if response.status_code >= 500:
            raise PaymentProviderDown(f"Zahlungsanbieter antwortet mit {response.status_code}")
        if response.status_code >= 400:
            self._refuse(response)
        try:
            return DECODER.decode(response.content)
        except msgspec.DecodeError:
            raise PaymentProviderDown("Unlesbare Antwort des Zahlungsanbieters") from None

    @staticmethod
    def _refuse(response: httpx.Response) -> None:
        try:
            problem = json.loads(response.content)
        except ValueError:
            problem = None
        if not isinstance(problem, dict):
            raise PaymentRefused(
                f"HTTP_{response.status_code}",
                f"Der Zahlungsanbieter lehnt die Anfrage ab (HTTP {response.status_code}).",
                response.status_code,
            )
        code = problem_code(problem) or f"HTTP_{response.status_code}"
        if code == "PAYMENT_EXISTS":
            raise _Exists(str(problem.get("transactionId") or ""))
        detail = str(problem.get("detail") or problem.get("title") or "")
        raise PaymentRefused(code, detail, response.status_code)


class _Exists(Exception):
    def __init__(self, transaction_id: str) -> None:
        super().__init__(transaction_id)
        self.transaction_id = transaction_id


TEST_PROVIDER_NAME = "test-provider"


def embedded_provider_credentials(data_dir: Path) -> tuple[str, str]:
    """User and password of the embedded test provider, created once per data dir (0600)."""
    path = data_dir / "payprovider" / "credentials.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"user": "rathaus", "password": secrets.token_urlsafe(24)}))
        path.chmod(0o600)
    data = json.loads(path.read_text())
    return str(data["user"]), str(data["password"])


def embedded_settlement_url(base_url: str, originator_id: str, endpoint_id: str) -> str:
    return f"{base_url.rstrip('/')}/settlement/{originator_id}/{endpoint_id}/{{day}}"


def payment_provider(settings: Settings) -> XBezahldiensteClient:
    """The configured provider; the embedded test provider when ``payment.url`` is unset."""
    p = settings.payment
    if p.url is not None:
        return XBezahldiensteClient(
            p.url,
            p.originator_id,
            p.endpoint_id,
            user=p.user,
            password=p.password,
            token=p.token,
            timeout=p.timeout_seconds,
            settlement_url=p.settlement_url,
            name=p.name,
        )
    base = f"http://127.0.0.1:{p.port}"
    user, password = embedded_provider_credentials(settings.data_dir)
    return XBezahldiensteClient(
        base,
        p.originator_id,
        p.endpoint_id,
        user=user,
        password=password,
        timeout=p.timeout_seconds,
        settlement_url=embedded_settlement_url(base, p.originator_id, p.endpoint_id),
        name=TEST_PROVIDER_NAME,
    )
