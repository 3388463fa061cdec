"""The test identity provider's web app: OpenID Connect (discovery, authorization code flow
with PKCE S256, RS256-signed ID tokens, JWKS, token endpoint with client authentication,
userinfo), its login page with test persons and login methods, and test controls that make
the next token misbehave (for the relying party's refusal tests). Nothing here is a real
BundID."""

from __future__ import annotations

import contextlib
import secrets
import time
from base64 import b64decode
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from jinja2 import Environment, FileSystemLoader, select_autoescape
from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar, Request, Response, get, post
from litestar.enums import MediaType
from litestar.params import FromPath
from litestar.response import Redirect

from rathaus.platform.runtime.idprovider.persons import (
    ACR_RANK,
    LEVEL_RANK,
    METHOD_BY_ID,
    METHODS,
    PERSON_BY_ID,
    PERSONS,
    Method,
    TestPerson,
    pseudonym,
)
from rathaus.platform.runtime.idprovider.saml import SamlIdp

MARK = "Test-Identitätsanbieter — keine echte BundID"
CODE_SECONDS = 60  # an authorization code is good for one exchange within a minute
TOKEN_SECONDS = 300
PENDING_SECONDS = 900  # how long the login page of one authorization request stays valid
TAMPERINGS = ("signature", "audience", "expired", "issuer", "replay", "unsigned")
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
)


@dataclass
class IdpConfig:
    base_url: str
    client_id: str
    client_secret: str
    pseudonym_key: bytes
    key: RSAKey
    redirect_uris: list[str] = field(default_factory=list)  # accepted, exactly
    saml: SamlIdp | None = None


@dataclass
class Pending:
    """An authorization request waiting for the tester's choice on the login page."""

    client_id: str
    redirect_uri: str
    state: str
    nonce: str
    code_challenge: str
    min_rank: int
    token: str  # the login form's anti-forgery token
    created: float
    saml_request_id: str = ""  # a SAML login: client_id is the SP, redirect_uri its ACS, state the RelayState


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    code_challenge: str
    person: TestPerson
    method: Method
    created: float
    auth_time: int


def create_app(config: IdpConfig) -> Litestar:
    pending: dict[str, Pending] = {}
    codes: dict[str, Grant] = {}
    tokens: dict[str, tuple[Grant, float]] = {}
    control: dict[str, Any] = {"tamper": None, "last_id_token": None}

    def page(template: str, status: int = 200, **context: Any) -> Response[str]:
        html = TEMPLATES.get_template(template).render(mark=MARK, **context)
        return Response(
            html, status_code=status, media_type=MediaType.HTML, headers={"Cache-Control": "no-store"}
        )

    def message(status: int, title: str, text: str) -> Response[str]:
        return page("message.html", status, title=title, text=text)

    message_page = message

    def oauth_error(status: int, error: str, description: str) -> Response[dict[str, str]]:
        return Response(
            {"error": error, "error_description": description},
            status_code=status,
            headers={"Cache-Control": "no-store"},
        )

    def expire() -> None:
        moment = time.monotonic()
        for store, seconds in ((pending, PENDING_SECONDS), (codes, CODE_SECONDS)):
            for key in [k for k, v in store.items() if moment - v.created > seconds]:
                store.pop(key, None)
        for key in [k for k, (_, t) in tokens.items() if moment - t > TOKEN_SECONDS]:
            tokens.pop(key, None)

    def client_of(request: Request[Any, Any, Any], form: dict[str, str]) -> bool:
        """client_secret_basic or client_secret_post, compared in constant time."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if scheme.lower() == "basic":
            with contextlib.suppress(ValueError):
                from urllib.parse import unquote

                raw_id, _, raw_secret = b64decode(value).decode().partition(":")
                client_id, secret = unquote(raw_id), unquote(raw_secret)
        ok_id = secrets.compare_digest(client_id.encode(), config.client_id.encode())
        ok_secret = secrets.compare_digest(secret.encode(), config.client_secret.encode())
        return ok_id and ok_secret

    @get("/")
    async def index() -> Response[str]:
        return page("index.html", base_url=config.base_url, persons=PERSONS, methods=METHODS)

    @get("/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, "provider": "test-idp"}

    @get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        base = config.base_url
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "jwks_uri": f"{base}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile", "email", "address"],
            "claims_supported": [
                "sub",
                "acr",
                "auth_time",
                "nonce",
                "given_name",
                "family_name",
                "birthdate",
                "address",
                "email",
                "organisation",
            ],
            "acr_values_supported": [m.acr for m in METHODS],
        }

    @get("/jwks")
    async def jwks() -> dict[str, Any]:
        return {"keys": [config.key.as_dict(private=False)]}

    @get("/authorize")
    async def authorize(request: Request[Any, Any, Any]) -> Response[str] | Redirect:
        expire()
        q = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        client_id, redirect_uri = q.get("client_id", ""), q.get("redirect_uri", "")
        if client_id != config.client_id:
            return message(
                400,
                "Unbekannter Dienst",
                "Dieser Dienst ist beim Test-Identitätsanbieter nicht eingerichtet.",
            )
        if redirect_uri not in config.redirect_uris:
            return message(
                400,
                "Rücksprungadresse nicht eingerichtet",
                "Die Rücksprungadresse dieses Dienstes ist beim Test-Identitätsanbieter nicht eingerichtet.",
            )
        state = q.get("state", "")

        def back_with(error: str, description: str) -> Redirect:
            params = {"error": error, "error_description": description, "iss": config.base_url}
            if state:
                params["state"] = state
            return Redirect(f"{redirect_uri}?{urlencode(params)}", status_code=303)

        if q.get("response_type") != "code":
            return back_with("unsupported_response_type", "only response_type=code")
        if "openid" not in q.get("scope", "").split():
            return back_with("invalid_scope", "scope must contain openid")
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return back_with("invalid_request", "PKCE with code_challenge_method=S256 is required")
        if not state or not q.get("nonce"):
            return back_with("invalid_request", "state and nonce are required")
        requested = [ACR_RANK[a] for a in q.get("acr_values", "").split() if a in ACR_RANK]
        tx = secrets.token_urlsafe(18)
        pending[tx] = Pending(
            client_id,
            redirect_uri,
            state,
            q["nonce"],
            q["code_challenge"],
            min(requested) if requested else 0,
            secrets.token_urlsafe(18),
            time.monotonic(),
        )
        return login_page(tx)

    def login_page(
        tx: str, error: str = "", status: int = 200, chosen: dict[str, str] | None = None
    ) -> Response[str]:
        p = pending[tx]
        methods = [m for m in METHODS if LEVEL_RANK[m.level] >= p.min_rank]
        return page(
            "login.html",
            status,
            tx=tx,
            token=p.token,
            persons=PERSONS,
            methods=methods,
            hidden_methods=len(methods) < len(METHODS),
            error=error,
            chosen=chosen or {},
        )

    @post("/authorize/{tx:str}")
    async def decide(request: Request[Any, Any, Any], tx: FromPath[str]) -> Response[str] | Redirect:
        expire()
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        p = pending.get(tx)
        if p is None or not secrets.compare_digest(form.get("token", "").encode(), p.token.encode()):
            return message(
                400,
                "Anmeldung abgelaufen",
                "Diese Anmeldung ist abgelaufen oder ungültig. Bitte starten Sie die Anmeldung beim Dienst neu.",
            )
        if form.get("aktion") == "abbrechen":
            pending.pop(tx, None)
            params = {
                "error": "access_denied",
                "error_description": "cancelled by the user",
                "state": p.state,
                "iss": config.base_url,
            }
            return Redirect(f"{p.redirect_uri}?{urlencode(params)}", status_code=303)
        person = PERSON_BY_ID.get(form.get("person", ""))
        method = METHOD_BY_ID.get(form.get("methode", ""))
        if person is None or method is None or LEVEL_RANK[method.level] < p.min_rank:
            missing = "eine Testperson" if person is None else "eine Anmeldeart"
            return login_page(tx, f"Bitte wählen Sie {missing}.", 400, form)
        pending.pop(tx, None)
        if p.saml_request_id:
            return saml_answer(p, person, method)
        code = secrets.token_urlsafe(24)
        codes[code] = Grant(
            p.client_id,
            p.redirect_uri,
            p.nonce,
            p.code_challenge,
            person,
            method,
            time.monotonic(),
            int(time.time()),
        )
        params = {"code": code, "state": p.state, "iss": config.base_url}
        return Redirect(f"{p.redirect_uri}?{urlencode(params)}", status_code=303)

    def subject(grant: Grant) -> str:
        return pseudonym(config.pseudonym_key, grant.client_id, f"person:{grant.person.id}")

    def user_claims(grant: Grant) -> dict[str, Any]:
        claims = grant.person.claims()
        if grant.person.organisation:
            claims["organisation"] = {
                **grant.person.organisation,
                "pseudonym": pseudonym(config.pseudonym_key, grant.client_id, f"org:{grant.person.id}"),
            }
        return claims

    def id_token(grant: Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": config.base_url,
            "sub": subject(grant),
            "aud": config.client_id,
            "iat": now,
            "exp": now + TOKEN_SECONDS,
            "auth_time": grant.auth_time,
            "nonce": grant.nonce,
            "acr": grant.method.acr,
            "amr": [grant.method.id],
            **user_claims(grant),
        }
        key = config.key
        tamper = control["tamper"]
        control["tamper"] = None
        if tamper == "replay" and control["last_id_token"]:
            return str(control["last_id_token"])
        if tamper == "audience":
            claims["aud"] = "ein-anderer-dienst"
        elif tamper == "expired":
            claims["iat"], claims["exp"] = now - 2 * TOKEN_SECONDS, now - TOKEN_SECONDS
        elif tamper == "issuer":
            claims["iss"] = "https://falscher-aussteller.example"
        elif tamper == "signature":  # same key id, another key: the JWKS cannot verify it
            key = RSAKey.generate_key(2048, parameters={"kid": config.key.kid or ""}, private=True)
        token = jwt.encode({"alg": "RS256", "kid": config.key.kid, "typ": "JWT"}, claims, key)
        if tamper is None:
            control["last_id_token"] = token
        return token

    @post("/token")
    async def token(request: Request[Any, Any, Any]) -> Response[dict[str, Any]] | Response[dict[str, str]]:
        expire()
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        if not client_of(request, form):
            return oauth_error(401, "invalid_client", "client authentication failed")
        if form.get("grant_type") != "authorization_code":
            return oauth_error(400, "unsupported_grant_type", "only authorization_code")
        grant = codes.pop(form.get("code", ""), None)  # single use, even when refused below
        if grant is None or grant.client_id != config.client_id:
            return oauth_error(400, "invalid_grant", "unknown, used or expired code")
        if form.get("redirect_uri") != grant.redirect_uri:
            return oauth_error(400, "invalid_grant", "redirect_uri does not match")
        verifier = form.get("code_verifier", "")
        if not (43 <= len(verifier) <= 128) or not secrets.compare_digest(
            create_s256_code_challenge(verifier).encode(), grant.code_challenge.encode()
        ):
            return oauth_error(400, "invalid_grant", "PKCE verification failed")
        access = secrets.token_urlsafe(24)
        tokens[access] = (grant, time.monotonic())
        return Response(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": TOKEN_SECONDS,
                "id_token": id_token(grant),
                "scope": "openid profile",
            },
            status_code=200,
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    @get("/userinfo")
    async def userinfo(
        request: Request[Any, Any, Any],
    ) -> Response[dict[str, Any]] | Response[dict[str, str]]:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        found = tokens.get(value) if scheme.lower() == "bearer" else None
        if found is None:
            return oauth_error(401, "invalid_token", "unknown or expired access token")
        grant = found[0]
        return Response({"sub": subject(grant), **user_claims(grant)}, headers={"Cache-Control": "no-store"})

    @get("/saml/metadata")
    async def saml_metadata() -> Response[str]:
        assert config.saml is not None
        return Response(config.saml.metadata(), media_type="application/samlmetadata+xml")

    @get("/saml/sso")
    async def saml_sso(request: Request[Any, Any, Any]) -> Response[str]:
        """An AuthnRequest by HTTP-Redirect: checked, then the same login page as for OIDC."""
        assert config.saml is not None
        expire()
        encoded = request.query_params.get("SAMLRequest") or ""
        relay_state = request.query_params.get("RelayState") or ""
        try:
            message, acs = await config.saml.request(
                encoded,
                relay_state,
                request.query_params.get("SigAlg") or "",
                request.query_params.get("Signature") or "",
            )
        except ValueError as problem:
            return message_page(400, "Anmeldung nicht möglich", str(problem))
        except httpx.HTTPError:
            return message_page(
                502, "Dienst nicht erreichbar", "Die Metadaten des Dienstes sind nicht abrufbar."
            )
        wanted = message.requested_authn_context
        refs = [r.text for r in wanted.authn_context_class_ref] if wanted is not None else []
        ranks = [ACR_RANK[r.strip()] for r in refs if r and r.strip() in ACR_RANK]
        tx = secrets.token_urlsafe(18)
        pending[tx] = Pending(
            message.issuer.text,
            acs,
            relay_state,
            "",
            "",
            min(ranks) if ranks else 0,
            secrets.token_urlsafe(18),
            time.monotonic(),
            saml_request_id=message.id,
        )
        return login_page(tx)

    def saml_answer(p: Pending, person: TestPerson, method: Method) -> Response[str]:
        assert config.saml is not None
        tamper = control["tamper"] if control["tamper"] in ("unsigned", "audience") else None
        if tamper:
            control["tamper"] = None
        response = config.saml.response(
            p.saml_request_id,
            p.client_id,
            p.redirect_uri,
            person,
            method,
            pseudonym(config.pseudonym_key, p.client_id, f"person:{person.id}"),
            pseudonym(config.pseudonym_key, p.client_id, f"org:{person.id}"),
            tamper,
        )
        return page("saml_post.html", acs=p.redirect_uri, response=response, relay_state=p.state)

    @post("/_test/tamper")
    async def tamper(request: Request[Any, Any, Any]) -> Response[dict[str, Any]] | Response[dict[str, str]]:
        """Test control (client credentials): the next ID token issued misbehaves once."""
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        if not client_of(request, {}):
            return oauth_error(401, "invalid_client", "client authentication failed")
        how = form.get("how", "")
        if how not in TAMPERINGS:
            return oauth_error(400, "invalid_request", f"how: one of {', '.join(TAMPERINGS)}")
        control["tamper"] = how
        return Response({"next_id_token": how}, status_code=200)

    return Litestar(
        route_handlers=[
            index,
            health,
            discovery,
            jwks,
            authorize,
            decide,
            token,
            userinfo,
            tamper,
            *([saml_metadata, saml_sso] if config.saml is not None else []),
        ],
        openapi_config=None,
        # the process configures logging once (rathaus CLI); Litestar's own default would
        # set the root logger to INFO and print, e.g., the mail sink's RCPT TO addresses
        logging_config=None,
    )
