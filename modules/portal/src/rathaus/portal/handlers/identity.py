"""Logins through an external identity provider: the portal as OpenID Connect relying party
(authlib's client; ID tokens verified with joserfc against the provider's JWKS).

A login is sent to the provider with ``state``, ``nonce`` and a PKCE S256 verifier, all kept
in ``identity_requests`` until the answer arrives; the answer deletes that row, so it is
accepted once. The ID token must carry the provider's signature, issuer, our client id as
audience, an unexpired ``exp`` and the nonce of that very request. A refusal raises
``IdentityRefused`` with a German message and logs a line without personal data.

The provider's subject (BundID: bPK2) is linked to an account in ``identity_links``; at a
first login the attributes wait in ``identity_arrivals`` until the citizen creates an account
from them or links the account they are logged into (differences chosen field by field).
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
import warnings
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import authlib.deprecate  # type: ignore[import-untyped]  # noqa: F401 - sets its filter first
import httpx
import sqlalchemy as sa
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.exc import IntegrityError

from rathaus.platform.kernel.settings import IdentityProviderSettings
from rathaus.portal.domain.accounts import EMAIL, Account
from rathaus.portal.domain.identity import Attributes, from_oidc_claims, map_level
from rathaus.portal.domain.organisations import normalise_register_number, validate_organisation
from rathaus.portal.handlers.base import Base, now
from rathaus.portal.handlers.organisations import audit
from rathaus.portal.store import (
    accounts,
    identity_arrivals,
    identity_links,
    identity_requests,
    memberships,
    organisation_identities,
    organisations,
)

with warnings.catch_warnings():  # authlib's notice that it prefers httpx2 (httpx works)
    warnings.simplefilter("ignore")
    from authlib.common.security import generate_token  # type: ignore[import-untyped]
    from authlib.integrations.httpx_client import AsyncOAuth2Client  # type: ignore[import-untyped]

log = logging.getLogger("rathaus.portal.identity")

REQUEST_MINUTES = 15  # an unanswered login expires
ARRIVAL_MINUTES = 30  # a first login's attributes wait this long for the citizen's choice
METADATA_SECONDS = 3600
LEEWAY_SECONDS = 60
ALGORITHMS = ["RS256", "PS256", "ES256"]  # asymmetric only: never "none", never HS256
# an account created from a provider has no password: this is no argon2 hash, so no password
# ever matches it (the password login verifies against it and fails)
NO_PASSWORD = "!identity-provider"  # noqa: S105 - a marker, not a password
MSG_REFUSED = (
    "Die Anmeldung beim Identitätsanbieter konnte nicht bestätigt werden. Bitte versuchen Sie es noch einmal."
)
MSG_EXPIRED = "Die Anmeldung ist abgelaufen oder wurde schon verwendet. Bitte melden Sie sich noch einmal an."
MSG_CANCELLED = "Die Anmeldung beim Identitätsanbieter wurde abgebrochen."
MSG_UNAVAILABLE = (
    "Der Identitätsanbieter ist gerade nicht erreichbar. Bitte versuchen Sie es später noch einmal."
)
MSG_UNKNOWN = "Diesen Identitätsanbieter gibt es hier nicht."


class IdentityRefused(Exception):
    """A login through a provider was refused: ``reason`` for the log, ``message`` for the citizen."""

    def __init__(self, reason: str, message: str = MSG_REFUSED) -> None:
        super().__init__(reason)
        self.reason, self.message = reason, message


@dataclass(frozen=True)
class Started:
    url: str
    state: str


@dataclass(frozen=True)
class Arrived:
    """A verified login: who (the provider's subject), at which level, with what attributes."""

    provider_id: str
    subject: str
    level: str
    method: str
    attributes: Attributes
    next: str


@dataclass(frozen=True)
class Arrival(Arrived):
    arrival_id: str = ""


class Identity(Base):
    _metadata: dict[str, tuple[float, dict[str, Any]]]
    _jwks: dict[str, tuple[float, KeySet]]

    # -- providers ------------------------------------------------------------------------------

    def providers(self) -> list[IdentityProviderSettings]:
        return list(self.kernel.settings.identity.providers)

    def provider(self, provider_id: str) -> IdentityProviderSettings:
        for p in self.kernel.settings.identity.providers:
            if p.id == provider_id:
                return p
        raise IdentityRefused("unknown provider", MSG_UNKNOWN)

    async def _discovery(self, p: IdentityProviderSettings) -> dict[str, Any]:
        cache = self.__dict__.setdefault("_metadata", {})
        found = cache.get(p.id)
        if found and time.monotonic() - found[0] < METADATA_SECONDS:
            return found[1]
        url = p.issuer.rstrip("/") + "/.well-known/openid-configuration"
        data = await self._get_json(url, p.id)
        if data.get("issuer") != p.issuer.rstrip("/") and data.get("issuer") != p.issuer:
            raise IdentityRefused("discovery issuer differs from the configured issuer", MSG_UNAVAILABLE)
        cache[p.id] = (time.monotonic(), data)
        return data

    async def _keys(self, p: IdentityProviderSettings, meta: dict[str, Any], refresh: bool) -> KeySet:
        cache = self.__dict__.setdefault("_jwks", {})
        found = cache.get(p.id)
        if found and not refresh and time.monotonic() - found[0] < METADATA_SECONDS:
            return found[1]
        data = await self._get_json(str(meta["jwks_uri"]), p.id)
        try:
            keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError):
            raise IdentityRefused("unusable JWKS", MSG_UNAVAILABLE) from None
        cache[p.id] = (time.monotonic(), keys)
        return keys

    async def _get_json(self, url: str, provider_id: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                response = await http.get(url)
                response.raise_for_status()
                data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("identity provider %s unreachable: %s", provider_id, type(exc).__name__)
            raise IdentityRefused("provider unreachable", MSG_UNAVAILABLE) from None
        if not isinstance(data, dict):
            raise IdentityRefused("provider metadata is no object", MSG_UNAVAILABLE)
        return data

    def _client(self, p: IdentityProviderSettings, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=p.client_id,
            client_secret=p.client_secret,
            scope=p.scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name
            timeout=10,
        )

    # -- the OIDC login -------------------------------------------------------------------------

    async def start_login(
        self, provider_id: str, redirect_uri: str, next_url: str, level: str | None = None
    ) -> Started:
        """Where to send the browser for a login at ``provider_id`` (at least ``level``)."""
        p = self.provider(provider_id)
        if p.kind != "oidc":
            raise IdentityRefused("not an OIDC provider", MSG_UNKNOWN)
        meta = await self._discovery(p)
        state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
        extra: dict[str, str] = {"nonce": nonce}
        if level and p.request_levels.get(level):
            extra["acr_values"] = p.request_levels[level]
        async with self._client(p, redirect_uri) as client:
            url, _ = client.create_authorization_url(
                str(meta["authorization_endpoint"]), state=state, code_verifier=verifier, **extra
            )
        await self._remember_request(state, p.id, next_url, nonce, verifier)
        return Started(url, state)

    async def _remember_request(
        self, request_id: str, provider_id: str, next_url: str, nonce: str = "", verifier: str = ""
    ) -> None:
        """Keep a login sent to a provider until its answer (expired ones are cleared)."""
        async with self.kernel.db.session() as s:
            await s.execute(
                identity_requests.delete().where(
                    identity_requests.c.created_at
                    < (datetime.now(UTC) - timedelta(minutes=REQUEST_MINUTES)).isoformat()
                )
            )
            await s.execute(
                identity_requests.insert().values(
                    request_id=request_id,
                    provider_id=provider_id,
                    nonce=nonce,
                    code_verifier=verifier,
                    next=next_url,
                    created_at=now(),
                )
            )

    async def _take_request(self, state: str, provider_id: str) -> dict[str, Any]:
        """The open request of this state, deleted as it is read: an answer counts once."""
        async with self.kernel.db.session() as s:
            row = (
                (await s.execute(sa.select(identity_requests).where(identity_requests.c.request_id == state)))
                .mappings()
                .first()
            )
            if row is None:
                raise IdentityRefused("unknown or used state", MSG_EXPIRED)
            gone = await s.execute(identity_requests.delete().where(identity_requests.c.request_id == state))
            if gone.rowcount != 1:  # type: ignore[attr-defined]  # another answer with this state took it meanwhile
                raise IdentityRefused("unknown or used state", MSG_EXPIRED)
        created = datetime.fromisoformat(row["created_at"])
        if datetime.now(UTC) - created > timedelta(minutes=REQUEST_MINUTES):
            raise IdentityRefused("request expired", MSG_EXPIRED)
        if row["provider_id"] != provider_id:
            raise IdentityRefused("state of another provider")
        return dict(row)

    async def finish_login(
        self, provider_id: str, params: dict[str, str], redirect_uri: str, session_state: str | None
    ) -> Arrived:
        """Check the provider's answer (the redirect's query) and return the verified login."""
        p = self.provider(provider_id)
        state = params.get("state", "")
        if not state or session_state is None or not secrets.compare_digest(state, session_state):
            raise IdentityRefused("state does not match the session", MSG_EXPIRED)
        request = await self._take_request(state, p.id)
        if params.get("error"):
            if params["error"] == "access_denied":
                raise IdentityRefused("cancelled at the provider", MSG_CANCELLED)
            raise IdentityRefused(f"provider answered error {params['error'][:40]!r}")
        meta = await self._discovery(p)
        if params.get("iss") and params["iss"] != meta["issuer"]:  # RFC 9207: mix-up defence
            raise IdentityRefused("iss of the answer is not the provider's")
        code = params.get("code", "")
        if not code:
            raise IdentityRefused("no code in the answer")
        async with self._client(p, redirect_uri) as client:
            try:
                token = await client.fetch_token(
                    str(meta["token_endpoint"]),
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=request["code_verifier"],
                )
            except Exception as exc:  # authlib raises OAuthError, httpx its own: all a refusal
                log.warning("identity provider %s: token exchange failed: %s", p.id, type(exc).__name__)
                raise IdentityRefused("token exchange failed") from None
        raw = token.get("id_token")
        if not isinstance(raw, str):
            raise IdentityRefused("no ID token")
        claims = await self._verify_id_token(p, meta, raw, request["nonce"])
        level, known = map_level(p.levels, claims.get("acr") if isinstance(claims.get("acr"), str) else None)
        if not known:
            log.warning("identity provider %s: acr not in the level mapping, counted as %s", p.id, level)
        attributes = from_oidc_claims(claims)
        amr = claims.get("amr")
        method = (
            ", ".join(str(m) for m in amr)[:200]
            if isinstance(amr, list)
            else str(claims.get("acr", ""))[:200]
        )
        log.info("identity login via %s at level %s", p.id, level)
        return Arrived(p.id, str(claims["sub"]), level, method, attributes, request["next"])

    async def _verify_id_token(
        self, p: IdentityProviderSettings, meta: dict[str, Any], raw: str, nonce: str
    ) -> dict[str, Any]:
        keys = await self._keys(p, meta, refresh=False)
        try:
            try:
                token = jwt.decode(raw, keys, algorithms=ALGORITHMS)
            except JoseError:  # perhaps the provider rotated its key: fetch its JWKS once more
                keys = await self._keys(p, meta, refresh=True)
                token = jwt.decode(raw, keys, algorithms=ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise IdentityRefused(f"ID token signature: {type(exc).__name__}") from None
        claims = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": meta["issuer"]},
            aud={"essential": True, "value": p.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise IdentityRefused(
                f"ID token claims: {type(exc).__name__} {exc.description or ''}".strip()
            ) from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != p.client_id:
            raise IdentityRefused("ID token for several audiences without our azp")
        if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(claims["nonce"], nonce):
            raise IdentityRefused("ID token nonce is not the one of this login (replayed?)")
        if not isinstance(claims.get("sub"), str) or not 0 < len(claims["sub"]) <= 255:
            raise IdentityRefused("ID token subject missing or too long")
        return claims

    # -- accounts ---------------------------------------------------------------------------------

    async def linked_account(self, provider_id: str, subject: str) -> str | None:
        async with self.kernel.db.session() as s:
            account_id = (
                await s.execute(
                    sa.select(identity_links.c.account_id).where(
                        identity_links.c.provider_id == provider_id, identity_links.c.subject == subject
                    )
                )
            ).scalar()
            if account_id is not None:
                await s.execute(
                    identity_links.update()
                    .where(identity_links.c.provider_id == provider_id, identity_links.c.subject == subject)
                    .values(last_login_at=now())
                )
        return str(account_id) if account_id is not None else None

    async def hold_arrival(self, arrived: Arrived, arrival_id: str = "") -> str:
        """Keep a login's result until the citizen decides (or, for SAML, until the browser
        comes back with its session); the id goes in the session."""
        arrival_id = arrival_id or secrets.token_urlsafe(24)
        async with self.kernel.db.session() as s:
            await s.execute(
                identity_arrivals.delete().where(
                    identity_arrivals.c.created_at
                    < (datetime.now(UTC) - timedelta(minutes=ARRIVAL_MINUTES)).isoformat()
                )
            )
            await s.execute(
                identity_arrivals.insert().values(
                    arrival_id=arrival_id,
                    provider_id=arrived.provider_id,
                    subject=arrived.subject,
                    level=arrived.level,
                    method=arrived.method,
                    attributes=arrived.attributes.as_dict(),
                    next=arrived.next,
                    created_at=now(),
                )
            )
        return arrival_id

    async def arrival(self, arrival_id: str) -> Arrival | None:
        async with self.kernel.db.session() as s:
            row = (
                (
                    await s.execute(
                        sa.select(identity_arrivals).where(identity_arrivals.c.arrival_id == arrival_id)
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        if datetime.now(UTC) - datetime.fromisoformat(row["created_at"]) > timedelta(minutes=ARRIVAL_MINUTES):
            return None
        return Arrival(
            row["provider_id"],
            row["subject"],
            row["level"],
            row["method"],
            Attributes.from_dict(row["attributes"]),
            row["next"],
            arrival_id=row["arrival_id"],
        )

    async def drop_arrival(self, arrival_id: str) -> None:
        async with self.kernel.db.session() as s:
            await s.execute(identity_arrivals.delete().where(identity_arrivals.c.arrival_id == arrival_id))

    async def create_from_arrival(self, arrival: Arrival, email: str) -> str:
        """A new account from the provider's attributes (no password); raises ``ValueError``."""
        email = email.strip().lower()
        if not EMAIL.fullmatch(email) or len(email) > 200:
            raise ValueError("Bitte geben Sie eine gültige E-Mail-Adresse an.")
        a = arrival.attributes
        if not a.complete:
            raise ValueError(
                "Der Identitätsanbieter hat Name oder Geburtsdatum nicht übermittelt; "
                "ohne sie kann kein Konto angelegt werden."
            )
        account_id = str(uuid.uuid4())
        try:
            async with self.kernel.db.session() as s:
                await s.execute(
                    accounts.insert().values(
                        account_id=account_id,
                        email=email,
                        password_hash=NO_PASSWORD,
                        given_name=a.given_name,
                        family_name=a.family_name,
                        birth_date=a.birth_date,
                        assurance_level="niedrig",  # the stored level is the Bürgerbüro's check
                        created_at=now(),
                    )
                )
                await self._link_identity(s, arrival, account_id)
        except IntegrityError:
            raise ValueError(
                "Mit dieser E-Mail-Adresse gibt es schon ein Konto. Melden Sie sich dort an und "
                "verknüpfen Sie es mit dieser Anmeldung."
            ) from None
        return account_id

    async def link_arrival(self, arrival: Arrival, account: Account, take: set[str]) -> None:
        """Link the provider's subject to ``account``; ``take`` the fields the citizen chose to
        take over from the provider (all others stay as they are)."""
        a = arrival.attributes
        values = {name: getattr(a, name) for name in take if getattr(a, name)}
        try:
            async with self.kernel.db.session() as s:
                if values:
                    await s.execute(
                        accounts.update().where(accounts.c.account_id == account.account_id).values(**values)
                    )
                await self._link_identity(s, arrival, account.account_id)
        except IntegrityError:
            raise ValueError("Diese Anmeldung ist schon mit einem Konto verknüpft.") from None

    async def _link_identity(self, s: Any, arrival: Arrival, account_id: str) -> None:
        moment = now()
        await s.execute(
            identity_links.insert().values(
                provider_id=arrival.provider_id,
                subject=arrival.subject,
                account_id=account_id,
                linked_at=moment,
                last_login_at=moment,
            )
        )
        await s.execute(
            identity_arrivals.delete().where(identity_arrivals.c.arrival_id == arrival.arrival_id)
        )

    async def organisation_login(self, account_id: str, provider_id: str, data: dict[str, str]) -> str | None:
        """The organisation account an organisation identity stands for (None for a person's
        login); raises ``OrganisationRefused``."""
        if not data.get("pseudonym"):
            return None
        try:
            return await _organisation_login(self.kernel, account_id, provider_id, data)
        except IntegrityError:  # the same identity linked at the same moment elsewhere: read it
            return await _organisation_login(self.kernel, account_id, provider_id, data)

    async def links_of(self, account_id: str) -> list[str]:
        """The providers an account is linked to (ids)."""
        async with self.kernel.db.read() as s:
            rows = await s.execute(
                sa.select(identity_links.c.provider_id).where(identity_links.c.account_id == account_id)
            )
        return [str(r) for r in rows.scalars()]


class OrganisationRefused(ValueError):
    """An organisation identity that cannot become an organisation account (a German message)."""


async def _organisation_login(kernel: Any, account_id: str, provider_id: str, data: dict[str, str]) -> str:
    """The organisation account of an organisation identity (like Mein Unternehmenskonto's
    organisation pseudonym), the logged-in person a member of it: known pseudonym -> its
    organisation; else the organisation this person administers with the same register
    number; else a new organisation account from the identity's data, the person its admin."""
    pseudonym = data.get("pseudonym", "")
    moment = now()
    async with kernel.db.session() as s:
        organisation_id = (
            await s.execute(
                sa.select(organisation_identities.c.organisation_id).where(
                    organisation_identities.c.provider_id == provider_id,
                    organisation_identities.c.pseudonym == pseudonym,
                )
            )
        ).scalar()
        if organisation_id is None:
            values, errors = validate_organisation(data)
            register = normalise_register_number(data.get("register_number", ""))
            if register:
                organisation_id = (
                    await s.execute(
                        sa.select(organisations.c.organisation_id)
                        .join(memberships, memberships.c.organisation_id == organisations.c.organisation_id)
                        .where(
                            organisations.c.register_number == register,
                            memberships.c.account_id == account_id,
                            memberships.c.role == "admin",
                        )
                    )
                ).scalar()
            if organisation_id is None:
                if errors:
                    raise OrganisationRefused(
                        "Die Daten der Organisation reichen nicht für ein Unternehmenskonto: "
                        + "; ".join(errors.values())
                    )
                organisation_id = str(uuid.uuid4())
                await s.execute(
                    organisations.insert().values(
                        organisation_id=organisation_id, created_at=moment, updated_at=moment, **values
                    )
                )
                await s.execute(
                    memberships.insert().values(
                        organisation_id=organisation_id, account_id=account_id, role="admin", since=moment
                    )
                )
                await audit(s, organisation_id, account_id, "angelegt")
            await s.execute(
                organisation_identities.insert().values(
                    provider_id=provider_id,
                    pseudonym=pseudonym,
                    organisation_id=organisation_id,
                    linked_at=moment,
                )
            )
            await audit(s, organisation_id, account_id, "identitaet_verknuepft")
        member = (
            await s.execute(
                sa.select(memberships.c.role).where(
                    memberships.c.organisation_id == organisation_id, memberships.c.account_id == account_id
                )
            )
        ).scalar()
        if member is None:  # the provider vouches that this person acts for the organisation
            await s.execute(
                memberships.insert().values(
                    organisation_id=organisation_id, account_id=account_id, role="member", since=moment
                )
            )
            await audit(s, organisation_id, account_id, "beigetreten_ueber_identitaet")
    return str(organisation_id)


def with_level(account: Account, level: str) -> Account:
    """The account as seen in a session logged in at ``level`` (this login's, not the account's best)."""
    return replace(account, assurance_level=level)
