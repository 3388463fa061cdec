"""The portal's JSON API (in the OpenAPI document): a citizen's applications, and submitting
one in a single request, for integrators and load tests."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import FromPath

from rathaus.platform.kernel.procedures.schema import submission_schema
from rathaus.portal import PREFIX
from rathaus.portal.handlers import (
    ApplicationRefused,
    CaseIdTaken,
    PaymentState,
    Received,
    SubmitApplication,
    Upload,
)
from rathaus.portal.web.common import PRIVATE, Pages

API = f"{PREFIX}/api/antraege"
MSG_JSON_ONLY = "Bitte senden Sie den Antrag als JSON (Content-Type: application/json)."
MSG_NOT_JSON = "Der Inhalt ist kein gültiges JSON."
MSG_CASE_ID = "Die Vorgangsnummer muss eine UUID sein, zum Beispiel 3f2b8c1e-5d4a-4c6b-9e7f-0a1b2c3d4e5f."
MSG_CASE_ID_TAKEN = "Diese Vorgangsnummer ist bereits vergeben. Bitte wählen Sie eine neue."
MSG_BASE64 = "Der Inhalt der Datei ist nicht gültig Base64-kodiert."
MSG_NOT_YOURS = "Diesen Antrag gibt es nicht oder er gehört nicht zu Ihrem Konto."


class Nachweis(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    art: str  # the form's file field it answers, e.g. "fahrzeugschein"
    dateiname: str
    inhalt_base64: str


class Antrag(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    service_id: str
    angaben: dict[str, Any]  # the data by field name; a repeating group is a list of rows
    nachweise: list[Nachweis] = []
    vorgangsnummer: str | None = None  # a client-chosen UUID: the case id and idempotency key
    version: int | None = None  # the procedure version the client built against (default: current)
    registerdaten: str | None = None  # the evidence id of a register request the citizen confirmed
    im_namen_von: str | None = None  # the organisation account the member applies for


class Eingang(msgspec.Struct, frozen=True, kw_only=True):
    vorgangsnummer: str
    status: str
    status_url: str
    hinweise: list[str] = []  # warnings the rules raised (the application was accepted)


class Registerabruf(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    service_id: str


class Registerdaten(msgspec.Struct, frozen=True, kw_only=True):
    freigegeben: bool
    meldung: str  # German, when nothing was released
    registerdaten: str  # the evidence id: name it in the submission to use the data
    werte: dict[str, list[str]]  # attribute -> values, e.g. "melderegister.strasse"


class Leistung(msgspec.Struct, frozen=True, kw_only=True):
    service_id: str
    version: int
    titel: str
    schema_url: str
    antragstellende: list[str]
    vertrauensniveau: str


class Fehler(msgspec.Struct, frozen=True, kw_only=True):
    fehler: dict[str, str]  # field -> German message


class Zahlung(msgspec.Struct, frozen=True, kw_only=True):
    """The fee's newest payment attempt (the paid one, once paid)."""

    status: str  # offen | bezahlt | fehlgeschlagen | abgebrochen | abgelaufen
    versuch: int
    betrag_cent: int
    kassenzeichen: str
    zahlungsseite: str  # the provider's payment page while "offen"
    gueltig_bis: str
    bezahlt_am: str


class Antragsstatus(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    case_id: str
    service_id: str
    status: str
    aktenzeichen: str | None
    submitted_at: str
    service_version: int | None = None
    zahlung: Zahlung | None = None


def status_of(row: dict[str, Any], payment: PaymentState | None = None) -> Antragsstatus:
    return Antragsstatus(
        case_id=row["case_id"],
        service_id=row["service_id"],
        status=row["status"],
        aktenzeichen=row["aktenzeichen"],
        submitted_at=row["submitted_at"],
        service_version=row.get("service_version"),
        zahlung=None
        if payment is None
        else Zahlung(
            status="bezahlt" if payment.paid else payment.status,
            versuch=payment.attempt,
            betrag_cent=payment.amount_cents,
            kassenzeichen=payment.kassenzeichen,
            zahlungsseite=payment.url if payment.status == "offen" else "",
            gueltig_bis=payment.expires_at,
            bezahlt_am=payment.paid_at,
        ),
    )


def refused(errors: dict[str, str], status_code: int = 400) -> Response[Fehler]:
    return Response(Fehler(fehler=errors), status_code=status_code, headers=PRIVATE)


def require_json(request: Request[Any, Any, Any]) -> None:
    media_type, _ = request.content_type
    if media_type.lower() != "application/json":
        raise HTTPException(status_code=415, detail=MSG_JSON_ONLY)


EXPECTED = {
    "str": "ein Text",
    "object": "ein Objekt",
    "array": "eine Liste",
    "str | null": "ein Text oder null",
    "int | null": "eine ganze Zahl oder null",
}
FIELDS = {"": Antrag.__struct_fields__, "nachweise": Nachweis.__struct_fields__}
SCHEMA_FILE = re.compile(r"(\d{1,4})\.schema\.json")
MSGSPEC_ERROR = re.compile(r"(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?")


def german(error: msgspec.ValidationError) -> dict[str, str]:
    """msgspec's English message as field -> German message ("antrag" for the whole body)."""
    match = MSGSPEC_ERROR.fullmatch(str(error))
    message, path = (match["message"], match["path"] or "") if match else (str(error), "")
    path = path.replace("[...]", "").lstrip(".")

    def at(name: str) -> str:
        return f"{path}.{name}" if path else name

    if found := re.fullmatch(r"Object contains unknown field `(.+)`", message):
        allowed = FIELDS["nachweise" if path.startswith("nachweise") else ""]
        return {at(found[1]): f"Dieses Feld gibt es nicht. Erlaubt sind: {', '.join(allowed)}."}
    if found := re.fullmatch(r"Object missing required field `(.+)`", message):
        return {at(found[1]): "Diese Angabe fehlt."}
    if found := re.fullmatch(r"Expected `(.+)`, got `(.+)`", message):
        return {path or "antrag": f"Hier wird {EXPECTED.get(found[1], found[1])} erwartet."}
    return {path or "antrag": "Dieser Wert ist ungültig."}


def routes(pages: Pages) -> list[HTTPRouteHandler]:
    portal = pages.portal

    @get(API, summary="Meine Anträge")
    async def list_applications(request: Request[Any, Any, Any]) -> Response[list[Antragsstatus]]:
        """The logged-in citizen's applications with status and Aktenzeichen (session cookie; 401 otherwise)."""
        account = await pages.api_citizen(request)
        rows = await portal.applications_of(account)
        states = await portal.payments_of(account, [r["case_id"] for r in rows])
        return Response([status_of(r, states.get(r["case_id"])) for r in rows], headers=PRIVATE)

    @get(f"{API}/{{case_id:str}}", summary="Status eines Antrags")
    async def application_status(
        request: Request[Any, Any, Any], case_id: FromPath[str]
    ) -> Response[Antragsstatus]:
        """One application of the logged-in citizen (session cookie; 401 otherwise); 404 for a
        case that is not theirs."""
        account = await pages.api_citizen(request)
        row = await portal.application(account, case_id)
        if row is None:
            raise NotFoundException(MSG_NOT_YOURS)
        return Response(status_of(row, await portal.payment_of(account, case_id)), headers=PRIVATE)

    @post(
        API,
        summary="Antrag stellen",
        status_code=201,
        responses={
            201: ResponseSpec(Eingang, description="Eingegangen: gespeichert und weitergegeben"),
            200: ResponseSpec(Eingang, description="Diese Vorgangsnummer hat das Konto schon eingereicht"),
            400: ResponseSpec(Fehler, description="Fehlerhafte Angaben; nichts wurde gespeichert"),
            409: ResponseSpec(Fehler, description="Die Vorgangsnummer gehört zu einem anderen Konto"),
        },
    )
    async def submit(request: Request[Any, Any, Any]) -> Response[Any]:
        """Submit an application in one request, as the logged-in citizen (session cookie of
        the portal's login; 401 otherwise).

        Body (``Content-Type: application/json``, anything else is answered 415): ``{"service_id":
        "hundesteuer", "version": 1, "angaben": {field: value, …; a repeating group: [{…}, …]},
        "nachweise": [{"art": "<file field>", "dateiname": "…", "inhalt_base64": "…"}],
        "vorgangsnummer": null, "registerdaten": null, "im_namen_von": null}``. The JSON Schema
        of each service version is at ``/api/schemas/<service_id>/<version>.schema.json`` (list:
        ``GET /api/leistungen``); the body is validated against it and then by the same rule
        engine as the HTML form (conditions, cross-field rules, computed values, the address in
        the street directory, each file by its content).

        ``registerdaten`` names a register request made with ``POST /api/registerdaten`` whose
        preview the citizen confirmed (once-only); ``im_namen_von`` the organisation account a
        member applies for. ``vorgangsnummer`` (optional, a UUID the client chooses) becomes the
        case id and is the idempotency key: sent again by the same account it answers 200 with
        the existing case and changes nothing; another account's answers 409.

        Answers 201 ``{"vorgangsnummer", "status": "eingegangen", "status_url", "hinweise"}``
        once the application is stored together with its event; 400 ``{"fehler": {field:
        message}}`` (German, as in the form; a field in a repeating group as ``hunde[1].rasse``)
        when anything is wrong, and then nothing is stored.

        CSRF: /api/ is exempt from the CSRF token; requiring ``application/json`` protects
        it, since a cross-site HTML form cannot send that content type and a script on
        another origin cannot without a CORS preflight, which this app does not allow.
        """
        account = await pages.api_citizen(request)
        require_json(request)
        try:
            antrag = msgspec.json.decode(await request.body(), type=Antrag)
        except msgspec.ValidationError as error:
            return refused(german(error))
        except msgspec.DecodeError:
            return refused({"antrag": MSG_NOT_JSON})
        errors: dict[str, str] = {}
        uploads = []
        for i, n in enumerate(antrag.nachweise):
            try:
                data = base64.b64decode("".join(n.inhalt_base64.split()), validate=True)
            except binascii.Error:
                errors[f"nachweise[{i}].inhalt_base64"] = MSG_BASE64
                continue
            uploads.append(Upload(field=n.art, filename=n.dateiname, data=data))
        case_id = None
        if antrag.vorgangsnummer is not None:
            try:
                case_id = str(uuid.UUID(antrag.vorgangsnummer))
            except ValueError:
                errors["vorgangsnummer"] = MSG_CASE_ID
        if errors:  # the body is malformed: said before the content is checked
            return refused(errors)
        body = msgspec.to_builtins(antrag)
        body["nachweise"] = [{**n, "inhalt_base64": ""} for n in body.get("nachweise", [])]  # checked apart
        command = SubmitApplication(
            account=account,
            service_id=antrag.service_id,
            values=antrag.angaben,
            uploads=uploads,
            case_id=case_id,
            version=antrag.version,
            register_request=antrag.registerdaten,
            organisation_id=antrag.im_namen_von,
            body={k: v for k, v in body.items() if v is not None},
        )
        try:
            received = await portal.submit_application(command)
        except ApplicationRefused as refusal:
            return refused(refusal.errors)
        except CaseIdTaken:
            return refused({"vorgangsnummer": MSG_CASE_ID_TAKEN}, status_code=409)
        return accepted(received)

    def accepted(received: Received) -> Response[Eingang]:
        url = f"{API}/{received.case_id}"
        return Response(
            Eingang(
                vorgangsnummer=received.case_id,
                status=received.status,
                status_url=url,
                hinweise=list(received.warnings),
            ),
            status_code=201 if received.new else 200,
            headers={**PRIVATE, **({"Location": url} if received.new else {})},
        )

    def base_url() -> str:
        web = portal.kernel.settings.web
        return web.public_url or "https://rathaus.example"

    @get(f"{PREFIX}/api/leistungen", summary="Online-Leistungen")
    async def services() -> list[Leistung]:
        """Every service that can be applied for online now: its current version and the URL
        of that version's JSON Schema (public)."""
        return [
            Leistung(
                service_id=d.id,
                version=d.version,
                titel=d.title,
                schema_url=f"{PREFIX}/api/schemas/{d.id}/{d.version}.schema.json",
                antragstellende=list(d.procedure.applicants),
                vertrauensniveau=d.procedure.assurance,
            )
            for d in portal.kernel.procedures.online()
        ]

    @get(f"{PREFIX}/api/schemas/{{service_id:str}}/{{name:str}}", summary="JSON Schema einer Leistung")
    async def schema(service_id: FromPath[str], name: FromPath[str]) -> Response[dict[str, Any]]:
        """The JSON Schema (2020-12) of the submission of one service version (public;
        ``<version>.schema.json``): the same definition as the HTML form."""
        match = SCHEMA_FILE.fullmatch(name)
        if match is None:
            raise NotFoundException("Dieses Schema gibt es nicht.")
        try:
            definition = portal.kernel.procedures.get(service_id, int(match.group(1)))
        except KeyError:
            raise NotFoundException("Dieses Schema gibt es nicht.") from None
        return Response(
            submission_schema(definition, base_url()),
            media_type="application/schema+json",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @post(f"{PREFIX}/api/registerdaten", summary="Registerdaten abrufen (once-only)", status_code=200)
    async def registers(request: Request[Any, Any, Any]) -> Response[Any]:
        """On the citizen's explicit request, fetch the register data a service's form can be
        filled with: ``{"service_id": "meldebescheinigung"}``. Answers the preview; nothing is
        used until a submission names ``registerdaten`` (that is the confirmation). Logged in
        the citizen's transparency log (``/konto/datennutzung``)."""
        account = await pages.api_citizen(request)
        require_json(request)
        try:
            wanted = msgspec.json.decode(await request.body(), type=Registerabruf)
        except msgspec.ValidationError as error:
            return refused(german(error))
        except msgspec.DecodeError:
            return refused({"antrag": MSG_NOT_JSON})
        try:
            found = await portal.request_registers(account, wanted.service_id)
        except ApplicationRefused as refusal:
            return refused(refusal.errors)
        return Response(
            Registerdaten(
                freigegeben=found["released"],
                meldung=found["message"],
                registerdaten=found["evidence_id"],
                werte=found["values"],
            ),
            headers=PRIVATE,
        )

    return [list_applications, application_status, submit, services, schema, registers]
