"""The test identity provider as a SAML 2.0 IdP (pysaml2's server, signatures by xmlsec1):
its metadata, AuthnRequests by HTTP-Redirect, signed responses and assertions by HTTP-POST,
the person's pseudonym as persistent NameID, the level as AuthnContextClassRef, and the
organisation pseudonym of an organisation identity (like Mein Unternehmenskonto).

A service provider is accepted when its metadata URL (its entity id) was allowed; its
metadata is fetched at its first request. Key and certificate are generated into the data
dir (``cryptography``), never committed."""

from __future__ import annotations

import base64
import shutil
import warnings
import zlib
from pathlib import Path
from typing import Any

import httpx

with warnings.catch_warnings():  # pysaml2 imports a cipher mode cryptography has moved (CFB)
    warnings.simplefilter("ignore")
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT  # type: ignore[import-untyped]
    from saml2.config import IdPConfig, SPConfig  # type: ignore[import-untyped]
    from saml2.metadata import entity_descriptor  # type: ignore[import-untyped]
    from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID  # type: ignore[import-untyped]
    from saml2.samlp import authn_request_from_string  # type: ignore[import-untyped]
    from saml2.server import Server  # type: ignore[import-untyped]

from rathaus.platform.kernel.certificates import key_and_certificate
from rathaus.platform.runtime.idprovider.persons import Method, TestPerson

# attribute names as BundID sends them (X.500/eduPerson OIDs, URI name format)
ATTRIBUTES = {
    "given_name": "urn:oid:2.5.4.42",
    "family_name": "urn:oid:2.5.4.4",
    "birth_date": "urn:oid:1.3.6.1.5.5.7.9.1",
    "street": "urn:oid:2.5.4.9",
    "postal_code": "urn:oid:2.5.4.17",
    "city": "urn:oid:2.5.4.7",
    "email": "urn:oid:0.9.2342.19200300.100.1.3",
    "organisation_name": "urn:oid:2.5.4.10",
}
ORGANISATION_PSEUDONYM = "urn:x-rathaus:organisation-pseudonym"
# the organisation's data as Mein Unternehmenskonto sends it (here under our own names)
ORGANISATION_ATTRIBUTES = {
    name: f"urn:x-rathaus:organisation:{name.replace('_', '-')}"
    for name in ("legal_form", "register_number", "street", "house_number", "postal_code", "city")
}
ANOTHER_SP = "https://anderer-dienst.example/saml/metadata"  # for the "wrong audience" control


def xmlsec() -> str:
    found = shutil.which("xmlsec1")
    if found is None:
        raise RuntimeError("xmlsec1 is missing (make bootstrap installs it): SAML needs it to sign")
    return found


def decode_redirect_request(encoded: str) -> Any:
    """The AuthnRequest of an HTTP-Redirect (base64 of raw DEFLATE), unverified: to learn its issuer."""
    xml = zlib.decompress(base64.b64decode(encoded), -15).decode()
    return authn_request_from_string(xml)


class SamlIdp:
    """pysaml2's IdP server with the service providers allowed so far."""

    def __init__(self, data_dir: Path, base_url: str) -> None:
        self.base_url = base_url
        self.entity_id = f"{base_url}/saml/metadata"
        self.key_file, self.cert_file = key_and_certificate(
            data_dir / "idprovider", "saml-idp", "Test-Identitaetsanbieter"
        )
        self.allowed: set[str] = set()  # SP entity ids (= their metadata URLs)
        self.sp_metadata: dict[str, str] = {ANOTHER_SP: self._another_sp()}
        self.server = self._server()

    def _config(self) -> IdPConfig:
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "key_file": self.key_file,
                "cert_file": self.cert_file,
                "xmlsec_binary": xmlsec(),
                "allow_unknown_attributes": True,
                "service": {
                    "idp": {
                        "name": "Test-Identitätsanbieter — keine echte BundID",
                        "endpoints": {
                            "single_sign_on_service": [(f"{self.base_url}/saml/sso", BINDING_HTTP_REDIRECT)]
                        },
                        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                        "want_authn_requests_signed": True,  # like BundID
                        "policy": {
                            "default": {
                                "lifetime": {"minutes": 5},
                                "attribute_restrictions": None,
                                "name_form": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
                            }
                        },
                    }
                },
                "metadata": {"inline": list(self.sp_metadata.values())},
            }
        )
        return config

    def _server(self) -> Server:
        return Server(config=self._config())

    def _another_sp(self) -> str:
        config = SPConfig()
        config.load(
            {
                "entityid": ANOTHER_SP,
                "service": {
                    "sp": {
                        "endpoints": {
                            "assertion_consumer_service": [
                                ("https://anderer-dienst.example/saml/acs", BINDING_HTTP_POST)
                            ]
                        }
                    }
                },
            }
        )
        return str(entity_descriptor(config))

    def metadata(self) -> str:
        return str(entity_descriptor(self._config()))

    async def request(self, encoded: str, relay_state: str, sigalg: str, signature: str) -> tuple[Any, str]:
        """(the verified AuthnRequest, the ACS URL from the SP's metadata); raises ValueError."""
        try:
            issuer = decode_redirect_request(encoded).issuer.text
        except Exception:
            raise ValueError("kein gültiger SAML-AuthnRequest") from None
        if issuer not in self.allowed:
            raise ValueError("Dieser Dienst ist beim Test-Identitätsanbieter nicht eingerichtet.")
        if issuer not in self.sp_metadata:
            async with httpx.AsyncClient(timeout=10) as http:
                response = await http.get(issuer)
                response.raise_for_status()
            self.sp_metadata[issuer] = response.text
            self.server = self._server()
        try:
            parsed = self.server.parse_authn_request(
                encoded,
                BINDING_HTTP_REDIRECT,
                relay_state=relay_state or None,
                sigalg=sigalg,
                signature=signature,
            )
        except Exception:
            raise ValueError("Die Anmeldeanfrage des Dienstes ist nicht gültig signiert.") from None
        if parsed is None:
            raise ValueError("Die Anmeldeanfrage des Dienstes ist nicht gültig signiert.")
        message = parsed.message
        known = [
            str(s["location"])
            for s in self.server.metadata.assertion_consumer_service(issuer, BINDING_HTTP_POST)
        ]
        acs = message.assertion_consumer_service_url or (known[0] if known else "")
        if acs not in known:
            raise ValueError("Die Rücksprungadresse dieses Dienstes ist nicht eingerichtet.")
        return message, acs

    def response(
        self,
        request_id: str,
        sp_entity_id: str,
        acs: str,
        person: TestPerson,
        method: Method,
        subject: str,
        organisation_pseudonym: str,
        tamper: str | None,
    ) -> str:
        """The SAMLResponse (base64) for the HTTP-POST binding, signed unless tampered."""
        identity: dict[str, list[str]] = {
            ATTRIBUTES["given_name"]: [person.given_name],
            ATTRIBUTES["family_name"]: [person.family_name],
            ATTRIBUTES["birth_date"]: [person.birth_date],
            ATTRIBUTES["street"]: [person.street],
            ATTRIBUTES["postal_code"]: [person.postal_code],
            ATTRIBUTES["city"]: [person.city],
            ATTRIBUTES["email"]: [person.email],
        }
        if person.organisation:
            identity[ATTRIBUTES["organisation_name"]] = [person.organisation["name"]]
            identity[ORGANISATION_PSEUDONYM] = [organisation_pseudonym]
            for name, attribute in ORGANISATION_ATTRIBUTES.items():
                if person.organisation.get(name):
                    identity[attribute] = [person.organisation[name]]
        audience = ANOTHER_SP if tamper == "audience" else sp_entity_id
        signed = tamper != "unsigned"
        xml = self.server.create_authn_response(
            identity,
            request_id,
            acs,
            audience,
            name_id=NameID(
                format=NAMEID_FORMAT_PERSISTENT,
                text=subject,
                name_qualifier=self.entity_id,
                sp_name_qualifier=sp_entity_id,
            ),
            authn={"class_ref": method.acr, "authn_auth": self.entity_id},
            sign_response=signed,
            sign_assertion=signed,
        )
        return base64.b64encode(str(xml).encode()).decode()
