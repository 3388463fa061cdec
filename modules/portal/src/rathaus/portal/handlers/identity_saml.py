"""Logins through a SAML 2.0 identity provider (BundID, BayernID, Mein Unternehmenskonto):
the portal as service provider with pysaml2 (xmlsec1 checks the signatures).

The AuthnRequest goes by HTTP-Redirect; its id is kept in ``identity_requests`` and the
answer must be "InResponseTo" it — the row is deleted as the answer is read, so a replayed
response finds nothing. The response or its assertion must be signed by the provider's key
from its metadata; pysaml2 checks the audience (our entity id), NotOnOrAfter and the
destination. The level comes from AuthnContextClassRef (the same mapping as OIDC), the
subject is the persistent NameID (the pseudonym). Key and certificate of the portal are
generated into the data dir, never committed."""

from __future__ import annotations

import base64
import binascii
import logging
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import httpx

with warnings.catch_warnings():  # pysaml2 imports a cipher mode cryptography has moved (CFB)
    warnings.simplefilter("ignore")
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT  # type: ignore[import-untyped]
    from saml2.client import Saml2Client  # type: ignore[import-untyped]
    from saml2.config import SPConfig  # type: ignore[import-untyped]
    from saml2.metadata import entity_descriptor  # type: ignore[import-untyped]
    from saml2.saml import NAMEID_FORMAT_PERSISTENT, AuthnContextClassRef  # type: ignore[import-untyped]
    from saml2.samlp import RequestedAuthnContext, response_from_string  # type: ignore[import-untyped]
    from saml2.xmldsig import SIG_RSA_SHA256  # type: ignore[import-untyped]

from rathaus.platform.kernel.certificates import key_and_certificate
from rathaus.platform.kernel.settings import IdentityProviderSettings
from rathaus.portal.domain.identity import Attributes, map_level
from rathaus.portal.handlers.identity import (
    METADATA_SECONDS,
    MSG_EXPIRED,
    MSG_UNAVAILABLE,
    MSG_UNKNOWN,
    Arrived,
    Identity,
    IdentityRefused,
    Started,
)

log = logging.getLogger("rathaus.portal.identity")

SP_METADATA_PATH = "/saml/metadata"
ORGANISATION_PSEUDONYM = "urn:x-rathaus:organisation-pseudonym"
ORGANISATION_PREFIX = "urn:x-rathaus:organisation:"  # legal-form, register-number, street, …
# SAML attribute (friendly name after pysaml2's maps, or the OID) -> our attribute
SAML_NAMES = {
    "givenName": "given_name",
    "urn:oid:2.5.4.42": "given_name",
    "sn": "family_name",
    "urn:oid:2.5.4.4": "family_name",
    "dateOfBirth": "birth_date",
    "urn:oid:1.3.6.1.5.5.7.9.1": "birth_date",
    "street": "street",
    "urn:oid:2.5.4.9": "street",
    "postalCode": "postal_code",
    "urn:oid:2.5.4.17": "postal_code",
    "l": "city",
    "urn:oid:2.5.4.7": "city",
    "mail": "email",
    "urn:oid:0.9.2342.19200300.100.1.3": "email",
    "o": "organisation_name",
    "urn:oid:2.5.4.10": "organisation_name",
}


def acs_path(provider_id: str) -> str:
    return f"/konto/anmelden/{provider_id}/acs"


def sp_key(data_dir: Path) -> tuple[str, str]:
    """The portal's SAML key and self-signed certificate, created once under the data dir (0600)."""
    return key_and_certificate(data_dir / "portal-saml", "sp", "Rathaus Buergerportal")


def attributes_from_ava(ava: dict[str, list[str]]) -> tuple[Attributes, str]:
    """Our attributes and the organisation pseudonym ("" for a person) from a SAML assertion."""
    found: dict[str, str] = {}
    for name, values in ava.items():
        ours = SAML_NAMES.get(name)
        if ours and values:
            found.setdefault(ours, " ".join(str(values[0]).split())[:200])
    pseudonym = ava.get(ORGANISATION_PSEUDONYM) or [""]
    organisation = {"name": found.pop("organisation_name", "")} if found.get("organisation_name") else {}
    if organisation and pseudonym[0]:
        organisation["pseudonym"] = str(pseudonym[0])[:255]
        for name, values in ava.items():
            if name.startswith(ORGANISATION_PREFIX) and values:
                key = name.removeprefix(ORGANISATION_PREFIX).replace("-", "_")
                organisation[key] = " ".join(str(values[0]).split())[:200]
    return (
        Attributes(
            given_name=found.get("given_name", "")[:100],
            family_name=found.get("family_name", "")[:100],
            birth_date=found.get("birth_date", "")[:10],
            street=found.get("street", ""),
            postal_code=found.get("postal_code", "")[:10],
            city=found.get("city", "")[:80],
            email=found.get("email", "").lower(),
            organisation=organisation,
        ),
        str(pseudonym[0])[:255],
    )


class SamlIdentity(Identity):
    _idp_metadata: dict[str, tuple[float, str]]

    def sp_entity_id(self, base: str) -> str:
        return base.rstrip("/") + SP_METADATA_PATH

    def _sp_config(self, p: IdentityProviderSettings | None, base: str, idp_metadata: str | None) -> SPConfig:
        xmlsec = shutil.which("xmlsec1")
        if xmlsec is None:
            raise IdentityRefused("xmlsec1 is missing", MSG_UNAVAILABLE)
        key_file, cert_file = sp_key(self.kernel.settings.data_dir)
        acs = [
            (base.rstrip("/") + acs_path(q.id), BINDING_HTTP_POST)
            for q in self.kernel.settings.identity.providers
            if q.kind == "saml"
        ]
        config = SPConfig()
        config.load(
            {
                "entityid": (p.client_id if p and p.client_id else "") or self.sp_entity_id(base),
                "key_file": key_file,
                "cert_file": cert_file,
                "xmlsec_binary": xmlsec,
                "allow_unknown_attributes": True,
                "accepted_time_diff": 60,
                "service": {
                    "sp": {
                        "name": "Bürgerportal",
                        "endpoints": {"assertion_consumer_service": acs},
                        "allow_unsolicited": False,
                        "want_response_signed": False,
                        "want_assertions_signed": False,
                        "want_assertions_or_response_signed": True,
                        "authn_requests_signed": True,  # BundID requires signed requests
                        "name_id_format": NAMEID_FORMAT_PERSISTENT,
                        "name_id_format_allow_create": True,
                    }
                },
                "metadata": {"inline": [idp_metadata]} if idp_metadata else {},
            }
        )
        return config

    def sp_metadata(self, base: str) -> str:
        """The portal's SAML metadata (entity id, ACS endpoints, certificate)."""
        return str(entity_descriptor(self._sp_config(None, base, None)))

    async def _idp_xml(self, p: IdentityProviderSettings) -> str:
        cache = self.__dict__.setdefault("_idp_metadata", {})
        found = cache.get(p.id)
        if found and time.monotonic() - found[0] < METADATA_SECONDS:
            return found[1]
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                response = await http.get(p.issuer)
                response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("identity provider %s unreachable: %s", p.id, type(exc).__name__)
            raise IdentityRefused("provider unreachable", MSG_UNAVAILABLE) from None
        cache[p.id] = (time.monotonic(), response.text)
        return response.text

    async def _saml_client(self, p: IdentityProviderSettings, base: str) -> Saml2Client:
        return Saml2Client(config=self._sp_config(p, base, await self._idp_xml(p)))

    async def start_saml_login(
        self, provider_id: str, base: str, next_url: str, level: str | None
    ) -> Started:
        p = self.provider(provider_id)
        if p.kind != "saml":
            raise IdentityRefused("not a SAML provider", MSG_UNKNOWN)
        client = await self._saml_client(p, base)
        idps = list(client.metadata.identity_providers())
        if len(idps) != 1:
            raise IdentityRefused("the metadata names no single identity provider", MSG_UNAVAILABLE)
        extra: dict[str, Any] = {}
        if level and p.request_levels.get(level):
            extra["requested_authn_context"] = RequestedAuthnContext(
                authn_context_class_ref=[AuthnContextClassRef(text=p.request_levels[level])],
                comparison="minimum",
            )
        request_id, info = client.prepare_for_authenticate(
            entityid=idps[0],
            binding=BINDING_HTTP_REDIRECT,
            assertion_consumer_service_url=base.rstrip("/") + acs_path(p.id),
            sign=True,
            sigalg=SIG_RSA_SHA256,
            **extra,
        )
        url = dict(info["headers"])["Location"]
        await self._remember_request(str(request_id), p.id, next_url)
        return Started(url, str(request_id))

    async def finish_saml_login(self, provider_id: str, base: str, encoded: str) -> tuple[str, Arrived]:
        """(the request id it answers, the verified login) for a posted SAMLResponse."""
        p = self.provider(provider_id)
        if p.kind != "saml":
            raise IdentityRefused("not a SAML provider", MSG_UNKNOWN)
        try:
            peeked = response_from_string(base64.b64decode(encoded, validate=True).decode())
        except (binascii.Error, ValueError, UnicodeDecodeError, SyntaxError, AttributeError):
            raise IdentityRefused("SAMLResponse is no SAML response") from None
        if peeked is None or not peeked.in_response_to:
            raise IdentityRefused("unsolicited SAML response (no InResponseTo)", MSG_EXPIRED)
        request = await self._take_request(str(peeked.in_response_to)[:64], p.id)
        client = await self._saml_client(p, base)
        try:
            response = client.parse_authn_request_response(
                encoded, BINDING_HTTP_POST, outstanding={request["request_id"]: request["next"]}
            )
        except Exception as exc:  # pysaml2 raises many kinds: every one is a refusal
            raise IdentityRefused(f"SAML response: {type(exc).__name__} {str(exc)[:120]}") from None
        if response is None:
            raise IdentityRefused("SAML response: nothing verified")
        name_id = response.name_id
        if name_id is None or name_id.format != NAMEID_FORMAT_PERSISTENT or not name_id.text:
            raise IdentityRefused("SAML NameID is not a persistent pseudonym")
        if len(name_id.text) > 255:
            raise IdentityRefused("SAML NameID too long")
        contexts = response.authn_info() or []
        ref = str(contexts[0][0]) if contexts and contexts[0][0] else None
        level, known = map_level(p.levels, ref)
        if not known:
            log.warning(
                "identity provider %s: AuthnContextClassRef not in the level mapping, counted as %s",
                p.id,
                level,
            )
        attributes, _ = attributes_from_ava(response.ava or {})
        log.info("identity login via %s at level %s", p.id, level)
        return request["request_id"], Arrived(
            p.id, name_id.text, level, ref or "", attributes, request["next"]
        )
