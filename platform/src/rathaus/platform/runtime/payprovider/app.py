"""The test provider's web app: the XBezahldienste API, the payment page, the settlement
report and the test controls. Nothing here moves money."""

from __future__ import annotations

import contextlib
import secrets
from base64 import b64decode
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, Request, Response, get, post
from litestar.enums import MediaType
from litestar.params import FromPath
from litestar.response import Redirect

from rathaus.platform.kernel.payment import DECODER, ENCODER, PAYMENT_METHODS, PaymentStatus, cents, euros
from rathaus.platform.runtime.payprovider.store import Store, Transaction
from rathaus.platform.runtime.payprovider.validation import Problem, validate

MARK = "Test-Zahlungsanbieter – es wird kein Geld bewegt"
METHOD_NAMES = {
    "GIROPAY": "giropay",
    "PAYDIRECT": "paydirekt",
    "CREDITCARD": "Kreditkarte",
    "PAYPAL": "PayPal",
    "OTHER": "Andere Zahlungsart",
}
STATUS_NAMES = {
    "INITIAL": "offen",
    "PAYED": "bezahlt",
    "FAILED": "fehlgeschlagen",
    "CANCELED": "abgebrochen",
}
CHOICES = {
    "bezahlen": ("PAYED", "Bezahlt (Test-Zahlungsanbieter)"),
    "abbrechen": ("CANCELED", "Vom Zahlenden abgebrochen"),
    "fehlschlagen": ("FAILED", "Zahlung fehlgeschlagen (Test-Zahlungsanbieter)"),
}
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
)


def money(amount_cents: int) -> str:
    """German display: 1234 -> '12,34 €'."""
    return f"{euros(amount_cents):.2f}".replace(".", ",") + " €"


TEMPLATES.filters["money"] = money


class ProviderConfig(msgspec.Struct, kw_only=True):
    base_url: str
    user: str
    password: str
    endpoints: list[tuple[str, str]]  # accepted (originatorId, endPointId)


def create_app(store: Store, config: ProviderConfig) -> Litestar:
    """The test provider as a Litestar app (own port, own origin)."""
    endpoints = set(config.endpoints)
    # a simulated outage (test control): the API answers 503 and counts what it turned away
    outage = {"on": False, "refused": 0}

    def authorised(request: Request[Any, Any, Any]) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        user, password = "", ""
        if scheme.lower() == "basic":
            with contextlib.suppress(ValueError):  # not base64 or not UTF-8: no credentials
                user, _, password = b64decode(value).decode().partition(":")
        ok_user = secrets.compare_digest(user.encode(), config.user.encode())
        ok_password = secrets.compare_digest(password.encode(), config.password.encode())
        if not (ok_user and ok_password):
            raise Problem(
                "FORBIDDEN", "Die Zugangsdaten fehlen oder sind falsch (HTTP-Basic-Authentifizierung)."
            )

    def endpoint(originator_id: str, endpoint_id: str) -> None:
        if len(originator_id) > 36 or len(endpoint_id) > 36 or (originator_id, endpoint_id) not in endpoints:
            raise Problem(
                "NO_VALID_ORIGINATOR_OR_ENDPOINT",
                f"Auftraggeber {originator_id!r} mit Endpunkt {endpoint_id!r} ist hier nicht eingerichtet.",
            )

    def as_json(tx: Transaction) -> dict[str, Any]:
        final = tx.status != PaymentStatus.INITIAL
        info: dict[str, Any] = {
            "transactionId": tx.transaction_id,
            "transactionReference": tx.reference,
            "transactionUrl": f"{config.base_url}/paymenttransaction/{tx.originator_id}/"
            f"{tx.endpoint_id}/{tx.transaction_id}",
            "transactionTimestamp": tx.paid_at or tx.created_at,
            "status": tx.status,
            "statusDetail": tx.status_detail,
        }
        if not final:
            info["transactionRedirectUrl"] = f"{config.base_url}/bezahlen/{tx.transaction_id}"
        if tx.payment_method:
            info["paymentMethod"] = tx.payment_method
        body: dict[str, Any] = {
            "paymentRequest": tx.request,
            "paymentInformation": info,
            "createdAt": tx.created_at,
            "paidAt": tx.paid_at,
        }
        if tx.paid_cents is not None:
            body["paidAmount"] = euros(tx.paid_cents)
        return body

    def reply(body: Any, status: int = 200) -> Response[bytes]:
        return Response(ENCODER.encode(body), status_code=status, media_type=MediaType.JSON)

    async def api(
        request: Request[Any, Any, Any], work: Callable[[], Awaitable[Response[bytes]]]
    ) -> Response[bytes]:
        if outage["on"] and not request.url.path.startswith("/_test/"):
            outage["refused"] += 1
            return Response(
                ENCODER.encode(
                    {
                        "title": "Wartung",
                        "status": 503,
                        "detail": "Der Zahlungsdienst ist gerade nicht erreichbar.",
                    }
                ),
                status_code=503,
                media_type="application/problem+json",
            )
        try:
            authorised(request)
            return await work()
        except Problem as problem:
            return problem_reply(problem, request)

    def problem_reply(problem: Problem, request: Request[Any, Any, Any]) -> Response[bytes]:
        return Response(
            ENCODER.encode(problem.body(request.url.path)),
            status_code=problem.status,
            media_type="application/problem+json",
        )

    async def body_of(request: Request[Any, Any, Any]) -> Any:
        try:
            return DECODER.decode(await request.body())
        except msgspec.DecodeError:
            raise Problem("VALIDATION_ERROR", "Die Anfrage ist kein gültiges JSON.") from None

    @post("/paymenttransaction/{originator_id:str}/{endpoint_id:str}")
    async def create(
        request: Request[Any, Any, Any], originator_id: FromPath[str], endpoint_id: FromPath[str]
    ) -> Response[bytes]:
        async def work() -> Response[bytes]:
            endpoint(originator_id, endpoint_id)
            body = await body_of(request)
            amount, reference = validate(body)
            tx, new = store.create(originator_id, endpoint_id, body, reference, amount)
            if not new:
                raise Problem(
                    "PAYMENT_EXISTS",
                    f"Zur Anfrage-ID {body['requestId']!r} gibt es bereits die Transaktion {tx.transaction_id}.",
                    transactionId=tx.transaction_id,
                )
            return reply(as_json(tx), 201)

        return await api(request, work)

    @get("/paymenttransaction/{originator_id:str}/{endpoint_id:str}/{transaction_id:str}")
    async def status(
        request: Request[Any, Any, Any],
        originator_id: FromPath[str],
        endpoint_id: FromPath[str],
        transaction_id: FromPath[str],
    ) -> Response[bytes]:
        async def work() -> Response[bytes]:
            endpoint(originator_id, endpoint_id)
            tx = store.get(transaction_id)
            if tx is None or (tx.originator_id, tx.endpoint_id) != (originator_id, endpoint_id):
                raise Problem("NOT_FOUND", f"Die Transaktion {transaction_id!r} gibt es hier nicht.")
            return reply(as_json(tx))

        return await api(request, work)

    @get("/settlement/{originator_id:str}/{endpoint_id:str}/{day:str}")
    async def settlement(
        request: Request[Any, Any, Any],
        originator_id: FromPath[str],
        endpoint_id: FromPath[str],
        day: FromPath[str],
    ) -> Response[bytes]:
        async def work() -> Response[bytes]:
            endpoint(originator_id, endpoint_id)
            try:
                when = date.fromisoformat(day)
            except ValueError:
                raise Problem("VALIDATION_ERROR", f"{day!r} ist kein Datum (JJJJ-MM-TT).") from None
            return reply([as_json(tx) for tx in store.of_day(originator_id, endpoint_id, when)])

        return await api(request, work)

    @post("/_test/transactions/{transaction_id:str}")
    async def force(request: Request[Any, Any, Any], transaction_id: FromPath[str]) -> Response[bytes]:
        """Test control: set a final status (and the paid amount) afterwards."""

        async def work() -> Response[bytes]:
            body = await body_of(request)
            if not isinstance(body, dict) or body.get("status") not in set(PaymentStatus):
                raise Problem("VALIDATION_ERROR", "status muss INITIAL, PAYED, FAILED oder CANCELED sein.")
            paid = _cents_or_none(body.get("paidAmount"), "paidAmount")
            method = str(body.get("paymentMethod") or ("OTHER" if body["status"] == "PAYED" else ""))
            detail = str(body.get("statusDetail") or f"Von der Teststeuerung gesetzt: {body['status']}")
            tx = store.force(
                transaction_id, body["status"], paid, str(body.get("paidAt") or ""), method, detail
            )
            if tx is None:
                raise Problem("NOT_FOUND", f"Die Transaktion {transaction_id!r} gibt es hier nicht.")
            return reply(as_json(tx))

        return await api(request, work)

    @post("/_test/outage")
    async def set_outage(request: Request[Any, Any, Any]) -> Response[bytes]:
        """Switch a simulated outage on or off: the XBezahldienste API answers 503 meanwhile
        (the controls and the payment page keep working). Answers how many API calls the
        outage has turned away since it was switched on."""
        try:
            authorised(request)
            body = await body_of(request)
        except Problem as problem:
            return problem_reply(problem, request)
        on = bool(body.get("on")) if isinstance(body, dict) else False
        if on and not outage["on"]:
            outage["refused"] = 0
        outage["on"] = on
        return reply({"on": outage["on"], "refused": outage["refused"]})

    @get("/_test/outage")
    async def get_outage(request: Request[Any, Any, Any]) -> Response[bytes]:
        try:
            authorised(request)
        except Problem as problem:
            return problem_reply(problem, request)
        return reply({"on": outage["on"], "refused": outage["refused"]})

    @post("/_test/orphans")
    async def orphan(request: Request[Any, Any, Any]) -> Response[bytes]:
        """Test control: a paid transaction with any reference (a payment without a case)."""

        async def work() -> Response[bytes]:
            body = await body_of(request)
            if not isinstance(body, dict) or not isinstance(body.get("reference"), str):
                raise Problem("VALIDATION_ERROR", "reference (das Kassenzeichen) fehlt.")
            originator_id, endpoint_id = config.endpoints[0]
            originator_id = str(body.get("originatorId") or originator_id)
            endpoint_id = str(body.get("endPointId") or endpoint_id)
            endpoint(originator_id, endpoint_id)
            amount = _cents_or_none(body.get("amount"), "amount")
            if amount is None or amount <= 0:
                raise Problem(
                    "VALIDATION_ERROR", "amount (der gezahlte Betrag in Euro) muss größer als 0 sein."
                )
            request_body = {
                "requestId": "orphan-" + secrets.token_hex(8),
                "currency": "EUR",
                "grosAmount": euros(amount),
                "purpose": str(body.get("purpose") or "Zahlung ohne Vorgang"),
                "description": "Von der Teststeuerung angelegt",
                "redirectUrl": config.base_url + "/",
                "items": [],
            }
            tx, _ = store.create(originator_id, endpoint_id, request_body, body["reference"], amount)
            method = str(body.get("paymentMethod") or "OTHER")
            paid = store.force(
                tx.transaction_id, "PAYED", amount, str(body.get("paidAt") or ""), method, "Bezahlt"
            )
            assert paid is not None
            return reply(as_json(paid), 201)

        return await api(request, work)

    def page(template: str, status: int = 200, **context: Any) -> Response[str]:
        html = TEMPLATES.get_template(template).render(mark=MARK, **context)
        return Response(html, status_code=status, media_type=MediaType.HTML)

    @get("/")
    async def index() -> Response[str]:
        return page("index.html", base_url=config.base_url)

    @get("/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, "provider": "test-provider"}

    @get("/bezahlen/{transaction_id:str}")
    async def payment_page(transaction_id: FromPath[str]) -> Response[str]:
        tx = store.get(transaction_id)
        if tx is None:
            return page(
                "message.html", 404, title="Zahlung nicht gefunden", text="Diese Zahlung gibt es nicht."
            )
        return page(
            "bezahlen.html",
            tx=tx,
            methods=METHOD_NAMES,
            status_name=STATUS_NAMES[tx.status],
            gros=cents(Decimal(str(tx.request.get("grosAmount", 0)))),
        )

    @post("/bezahlen/{transaction_id:str}")
    async def choose(
        request: Request[Any, Any, Any], transaction_id: FromPath[str]
    ) -> Response[str] | Redirect:
        form = await request.form()
        tx = store.get(transaction_id)
        if tx is None:
            return page(
                "message.html", 404, title="Zahlung nicht gefunden", text="Diese Zahlung gibt es nicht."
            )
        back = str(tx.request.get("redirectUrl") or "")
        token = str(form.get("token") or "")
        if not secrets.compare_digest(token.encode(), tx.page_token.encode()):
            return page(
                "message.html",
                403,
                title="Formular ungültig",
                text="Das Formular gehört nicht zu dieser Zahlung. Bitte die Bezahlseite neu öffnen.",
                back=f"/bezahlen/{transaction_id}",
            )
        if tx.status != PaymentStatus.INITIAL:
            return page(
                "message.html",
                409,
                title="Zahlung bereits abgeschlossen",
                text=f"Diese Zahlung ist bereits {STATUS_NAMES[tx.status]} und kann nicht mehr geändert werden.",
                back=back,
            )
        choice = str(form.get("auswahl") or "")
        method = str(form.get("zahlungsart") or "")
        if choice not in CHOICES or (choice == "bezahlen" and method not in PAYMENT_METHODS):
            return page(
                "message.html",
                400,
                title="Auswahl fehlt",
                text="Bitte eine Zahlungsart wählen und Bezahlen, Abbrechen oder Fehlschlagen lassen.",
                back=f"/bezahlen/{transaction_id}",
            )
        new_status, detail = CHOICES[choice]
        if not store.finish(
            transaction_id, token, new_status, method if choice == "bezahlen" else "", detail
        ):
            current = store.get(transaction_id)
            name = STATUS_NAMES[current.status] if current else "unbekannt"
            return page(
                "message.html",
                409,
                title="Zahlung bereits abgeschlossen",
                text=f"Diese Zahlung ist bereits {name} und kann nicht mehr geändert werden.",
                back=back,
            )
        return Redirect(back, status_code=303)

    return Litestar(
        route_handlers=[
            create,
            status,
            settlement,
            force,
            set_outage,
            get_outage,
            orphan,
            index,
            health,
            payment_page,
            choose,
        ],
        on_shutdown=[store.close],
        openapi_config=None,
        # the process configures logging once (rathaus CLI); Litestar's own default would
        # set the root logger to INFO and print, e.g., the mail sink's RCPT TO addresses
        logging_config=None,
    )


def _cents_or_none(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise Problem("VALIDATION_ERROR", f"{field} muss ein Betrag in Euro sein.")
    try:
        return cents(value)
    except ValueError as exc:
        raise Problem("VALIDATION_ERROR", f"{field}: {exc}") from None
