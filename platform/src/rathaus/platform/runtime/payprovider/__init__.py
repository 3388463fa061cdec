"""The embedded test payment provider ("Test-Zahlungsanbieter – es wird kein Geld bewegt").

Its own small web app on its own port, speaking XBezahldienste 1.0 like a real provider,
with a payment page where the demo citizen pays, cancels or lets the payment fail.
``rathaus up`` runs it in a thread when no real provider is configured
(``payment.url`` unset); ``rathaus payprovider`` runs it alone in the foreground, so tests
can stop and restart it as a provider outage. Its transactions live in SQLite under
``<data_dir>/payprovider``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from rathaus.platform.kernel.payment import (
    TEST_PROVIDER_NAME,
    embedded_provider_credentials,
    embedded_settlement_url,
)
from rathaus.platform.kernel.settings import Settings
from rathaus.platform.runtime.payprovider.app import MARK, ProviderConfig, create_app
from rathaus.platform.runtime.payprovider.store import Store
from rathaus.platform.runtime.standin import StandIn

__all__ = ["MARK", "TestPaymentProvider", "run_foreground", "use_test_provider"]


class TestPaymentProvider(StandIn):
    """The test provider on loopback: in a thread (``start``/``stop``) or in the foreground."""

    what = "the test payment provider"
    label = "Zahlungsanbieter (Test)"
    mark = MARK

    def __init__(self, data_dir: Path, port: int, endpoints: list[tuple[str, str]]) -> None:
        super().__init__(port)
        self.data_dir = data_dir
        self.user, self.password = embedded_provider_credentials(data_dir)
        self.endpoints = endpoints

    def app(self) -> Any:
        config = ProviderConfig(
            base_url=self.base_url, user=self.user, password=self.password, endpoints=self.endpoints
        )
        return create_app(Store(self.data_dir), config)


def run_foreground(
    data_dir: Path, port: int, endpoints: list[tuple[str, str]], out: TextIO, host: str = "127.0.0.1"
) -> None:
    provider = TestPaymentProvider(data_dir, port, endpoints)
    provider.host = host
    provider.run(out)


def use_test_provider(settings: Settings, provider: TestPaymentProvider | None = None) -> None:
    """Point ``settings.payment`` at the embedded test provider (URL, credentials, report)."""
    pay = settings.payment
    base = provider.base_url if provider else f"http://127.0.0.1:{pay.port}"
    pay.url = base
    pay.user, pay.password = embedded_provider_credentials(settings.data_dir)
    pay.token = None
    pay.settlement_url = embedded_settlement_url(base, pay.originator_id, pay.endpoint_id)
    pay.name = TEST_PROVIDER_NAME
