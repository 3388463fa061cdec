"""The embedded test identity provider ("Test-Identitätsanbieter — keine echte BundID").

Its own small web app on its own port, speaking OpenID Connect like BundID or BayernID,
with a login page where the tester picks a test person and a login method (which gives the
assurance level). ``rathaus up`` runs it in a thread when no identity provider is configured
(``identity.providers`` empty) and points the portal at it; ``rathaus idprovider`` runs it
alone in the foreground. Its keys live under ``<data_dir>/idprovider``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from rathaus.platform.kernel.settings import IdentityProviderSettings, Settings
from rathaus.platform.runtime.idprovider.app import MARK, IdpConfig, create_app
from rathaus.platform.runtime.idprovider.keys import CLIENT_ID, secrets_of, signing_key
from rathaus.platform.runtime.idprovider.saml import SamlIdp
from rathaus.platform.runtime.standin import StandIn

__all__ = [
    "CLIENT_ID",
    "MARK",
    "TEST_PROVIDER_ID",
    "TestIdentityProvider",
    "callback_path",
    "run_foreground",
    "use_test_idp",
]
TEST_PROVIDER_ID = "test-oidc"
TEST_SAML_ID = "test-saml"
LABEL = "Test-Identitätsanbieter (OpenID Connect)"
SAML_LABEL = "Test-Identitätsanbieter (SAML)"


SAML_METADATA_PATH = "/saml/metadata"  # the portal's SP metadata; its URL is its entity id


def callback_path(provider_id: str) -> str:
    """Where the portal receives a provider's answer (the OIDC redirect URI's path)."""
    return f"/konto/anmelden/{provider_id}/rueckkehr"


class TestIdentityProvider(StandIn):
    """The test identity provider on loopback: in a thread (``start``/``stop``) or in the foreground."""

    what = "the test identity provider"
    label = "Identitätsanbieter (Test)"
    mark = MARK

    def __init__(self, data_dir: Path, port: int, redirect_uris: list[str] | None = None) -> None:
        super().__init__(port)
        self.data_dir = data_dir
        found = secrets_of(data_dir)
        self.client_id, self.client_secret = CLIENT_ID, found["client_secret"]
        self.config = IdpConfig(
            base_url=self.base_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            pseudonym_key=found["pseudonym_key"].encode(),
            key=signing_key(data_dir),
            redirect_uris=list(redirect_uris or []),
            saml=SamlIdp(data_dir, self.base_url),
        )

    def allow_portal(self, portal_url: str) -> None:
        """Accept the portal at this URL as a relying party (its redirect URI)."""
        uri = portal_url.rstrip("/") + callback_path(TEST_PROVIDER_ID)
        if uri not in self.config.redirect_uris:
            self.config.redirect_uris.append(uri)
        assert self.config.saml is not None
        self.config.saml.allowed.add(portal_url.rstrip("/") + SAML_METADATA_PATH)

    def app(self) -> Any:
        return create_app(self.config)

    def banner(self, out: TextIO) -> None:
        out.write(f"  {'Client-ID':32} {self.client_id}\n")
        out.write(f"  {'Client-Secret':32} (in {self.data_dir / 'idprovider' / 'secrets.json'})\n")
        for uri in self.config.redirect_uris:
            out.write(f"  {'Rücksprungadresse (OIDC)':32} {uri}\n")
        assert self.config.saml is not None
        for entity in sorted(self.config.saml.allowed):
            out.write(f"  {'Dienst (SAML-Metadaten)':32} {entity}\n")


def run_foreground(data_dir: Path, port: int, portal_url: str, out: TextIO) -> None:
    idp = TestIdentityProvider(data_dir, port)
    idp.allow_portal(portal_url)
    idp.run(out)


def use_test_idp(settings: Settings, idp: TestIdentityProvider) -> None:
    """Point ``settings.identity`` at the embedded test identity provider."""
    settings.identity.providers = [
        IdentityProviderSettings(
            id=TEST_PROVIDER_ID,
            label=LABEL,
            kind="oidc",
            issuer=idp.base_url,
            client_id=idp.client_id,
            client_secret=idp.client_secret,
            scope="openid profile email address",
            request_levels={
                "niedrig": "STORK-QAA-Level-1",
                "substantiell": "STORK-QAA-Level-3",
                "hoch": "STORK-QAA-Level-4",
            },
        ),
        IdentityProviderSettings(
            id=TEST_SAML_ID,
            label=SAML_LABEL,
            kind="saml",
            issuer=f"{idp.base_url}/saml/metadata",
            request_levels={
                "niedrig": "STORK-QAA-Level-1",
                "substantiell": "STORK-QAA-Level-3",
                "hoch": "STORK-QAA-Level-4",
            },
            organisations=True,
        ),
    ]
