"""The embedded test payment provider ("Test-Zahlungsanbieter – es wird kein Geld bewegt").

Its own small web app on its own port, speaking XBezahldienste 1.0 like a real provider,
with a payment page where the demo citizen pays, cancels or lets the payment fail.
``rathaus up`` runs it in a thread when no real provider is configured
(``payment.url`` unset); ``rathaus payprovider`` runs it alone in the foreground, so tests
can stop and restart it as a provider outage. Its transactions live in SQLite under
``<data_dir>/payprovider``.
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

from rathaus.platform.kernel.payment import (
    TEST_PROVIDER_NAME,
    embedded_provider_credentials,
    embedded_settlement_url,
)
from rathaus.platform.kernel.settings import Settings
from rathaus.platform.runtime.payprovider.app import MARK, ProviderConfig, create_app
from rathaus.platform.runtime.payprovider.store import Store
from rathaus.platform.runtime.processes import RuntimeProblem, require_free

__all__ = ["MARK", "TestPaymentProvider", "run_foreground", "use_test_provider"]


class TestPaymentProvider:
    """The test provider on loopback: in a thread (``start``/``stop``) or in the foreground."""

    __test__ = False  # not a pytest test class

    def __init__(self, data_dir: Path, port: int, endpoints: list[tuple[str, str]]) -> None:
        self.data_dir, self.port = data_dir, port
        self.base_url = f"http://127.0.0.1:{port}"
        self.user, self.password = embedded_provider_credentials(data_dir)
        self.endpoints = endpoints
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> uvicorn.Server:
        store = Store(self.data_dir)
        config = ProviderConfig(
            base_url=self.base_url, user=self.user, password=self.password, endpoints=self.endpoints
        )
        return uvicorn.Server(
            uvicorn.Config(
                create_app(store, config),
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                access_log=False,
                lifespan="on",
            )
        )

    def start(self, timeout: float = 30.0) -> None:
        require_free(self.port, "the test payment provider")
        self._server = server = self._make_server()
        self._thread = threading.Thread(target=server.run, name="payprovider", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeProblem(f"the test payment provider did not start on port {self.port}")
            time.sleep(0.02)  # polling the server's start, not waiting for a result

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(15)

    async def health(self) -> dict[str, Any]:
        """For the platform's ``/health``: does the test provider answer?"""
        try:
            async with httpx.AsyncClient(timeout=3) as http:
                response = await http.get(f"{self.base_url}/health")
            return {"ok": response.status_code == 200, "url": self.base_url, "test": True}
        except httpx.HTTPError as exc:
            return {"ok": False, "url": self.base_url, "error": type(exc).__name__}

    def run(self, out: TextIO) -> None:
        """In the foreground until Ctrl-C (``rathaus payprovider``)."""
        require_free(self.port, "the test payment provider")
        server = self._make_server()

        async def main() -> None:
            task = asyncio.create_task(server.serve())
            while not server.started:
                if task.done():
                    break
                await asyncio.sleep(0.02)
            if server.started:
                out.write(f"{'Zahlungsanbieter (Test)':34} {self.base_url}\n")
                out.write(f"{MARK}.\nBeenden mit Strg-C.\n")
                out.flush()
            await task
            if not server.started:
                raise RuntimeProblem(f"the test payment provider did not start on port {self.port}")

        # uvicorn re-raises Ctrl-C after its graceful shutdown: that is a normal stop
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())


def run_foreground(data_dir: Path, port: int, endpoints: list[tuple[str, str]], out: TextIO) -> None:
    TestPaymentProvider(data_dir, port, endpoints).run(out)


def use_test_provider(settings: Settings, provider: TestPaymentProvider | None = None) -> None:
    """Point ``settings.payment`` at the embedded test provider (URL, credentials, report)."""
    pay = settings.payment
    base = provider.base_url if provider else f"http://127.0.0.1:{pay.port}"
    pay.url = base
    pay.user, pay.password = embedded_provider_credentials(settings.data_dir)
    pay.token = None
    pay.settlement_url = embedded_settlement_url(base, pay.originator_id, pay.endpoint_id)
    pay.name = TEST_PROVIDER_NAME
