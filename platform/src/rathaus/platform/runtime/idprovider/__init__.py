"""The embedded test identity provider ("Test-Identitätsanbieter — keine echte BundID").

Its own small web app on its own port, speaking OpenID Connect like BundID or BayernID,
with a login page where the tester picks a test person and a login method (which gives the
assurance level). ``rathaus up`` runs it in a thread when no identity provider is configured
(``identity.providers`` empty) and points the portal at it; ``rathaus idprovider`` runs it
alone in the foreground. Its keys live under ``<data_dir>/idprovider``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import httpx
import uvicorn

from rathaus.platform.kernel.settings import IdentityProviderSettings, Settings
from rathaus.platform.runtime.idprovider.app import MARK, IdpConfig, create_app
from rathaus.platform.runtime.idprovider.keys import CLIENT_ID, secrets_of, signing_key
from rathaus.platform.runtime.idprovider.saml import SamlIdp
from rathaus.platform.runtime.processes import RuntimeProblem, require_free

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


class TestIdentityProvider:
    """The test identity provider on loopback: in a thread (``start``/``stop``) or in the foreground."""

    __test__ = False  # not a pytest test class

    def __init__(self, data_dir: Path, port: int, redirect_uris: list[str] | None = None) -> None:
        self.data_dir, self.port = data_dir, port
        self.base_url = f"http://127.0.0.1:{port}"
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
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def allow_portal(self, portal_url: str) -> None:
        """Accept the portal at this URL as a relying party (its redirect URI)."""
        uri = portal_url.rstrip("/") + callback_path(TEST_PROVIDER_ID)
        if uri not in self.config.redirect_uris:
            self.config.redirect_uris.append(uri)
        assert self.config.saml is not None
        self.config.saml.allowed.add(portal_url.rstrip("/") + SAML_METADATA_PATH)

    def _make_server(self) -> uvicorn.Server:
        return uvicorn.Server(
            uvicorn.Config(
                create_app(self.config),
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                access_log=False,
                lifespan="on",
            )
        )

    def start(self, timeout: float = 30.0) -> None:
        require_free(self.port, "the test identity provider")
        self._server = server = self._make_server()
        self._thread = threading.Thread(target=server.run, name="idprovider", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeProblem(f"the test identity provider did not start on port {self.port}")
            time.sleep(0.02)  # polling the server's start, not waiting for a result

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(15)

    async def health(self) -> dict[str, Any]:
        """For the platform's ``/health``: does the test identity provider answer?"""
        try:
            async with httpx.AsyncClient(timeout=3) as http:
                response = await http.get(f"{self.base_url}/health")
            return {"ok": response.status_code == 200, "url": self.base_url, "test": True}
        except httpx.HTTPError as exc:
            return {"ok": False, "url": self.base_url, "error": type(exc).__name__}

    def run(self, out: TextIO) -> None:
        """In the foreground until Ctrl-C (``rathaus idprovider``)."""
        require_free(self.port, "the test identity provider")
        server = self._make_server()

        async def main() -> None:
            task = asyncio.create_task(server.serve())
            while not server.started:
                if task.done():
                    break
                await asyncio.sleep(0.02)
            if server.started:
                out.write(f"{'Identitätsanbieter (Test)':34} {self.base_url}\n")
                out.write(f"  {'Client-ID':32} {self.client_id}\n")
                out.write(f"  {'Client-Secret':32} (in {self.data_dir / 'idprovider' / 'secrets.json'})\n")
                for uri in self.config.redirect_uris:
                    out.write(f"  {'Rücksprungadresse (OIDC)':32} {uri}\n")
                assert self.config.saml is not None
                for entity in sorted(self.config.saml.allowed):
                    out.write(f"  {'Dienst (SAML-Metadaten)':32} {entity}\n")
                out.write(f"{MARK}.\nBeenden mit Strg-C.\n")
                out.flush()
            await task
            if not server.started:
                raise RuntimeProblem(f"the test identity provider did not start on port {self.port}")

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())


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
