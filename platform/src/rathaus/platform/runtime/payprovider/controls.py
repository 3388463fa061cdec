"""A client for the test provider's ``/_test`` controls, for the fault and reconciliation
suites: change a transaction's outcome afterwards, record a payment without a case."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import httpx

from rathaus.platform.kernel.payment import (
    DECODER,
    ENCODER,
    PaymentStatus,
    PaymentTransaction,
    euros,
    transaction_from_json,
)


class TestProviderControls:
    __test__ = False  # not a pytest test class

    def __init__(self, base_url: str, user: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = httpx.BasicAuth(user, password)

    async def _post(self, path: str, body: dict[str, Any]) -> PaymentTransaction:
        async with httpx.AsyncClient(auth=self._auth, timeout=10) as http:
            response = await http.post(
                f"{self.base_url}{path}",
                content=ENCODER.encode(body),
                headers={"Content-Type": "application/json"},
            )
        if response.status_code >= 400:
            raise AssertionError(f"test control {path} refused: {response.status_code} {response.text}")
        return transaction_from_json(DECODER.decode(response.content))

    async def set_status(
        self,
        transaction_id: str,
        status: PaymentStatus,
        *,
        paid_cents: int | None = None,
        paid_at: str = "",
        payment_method: str = "",
    ) -> PaymentTransaction:
        """Set the transaction's status afterwards (e.g. a late PAYED after FAILED); for PAYED
        the booked amount (default: the requested one, less for an underpayment)."""
        body: dict[str, Any] = {"status": str(status)}
        if paid_cents is not None:
            body["paidAmount"] = euros(paid_cents)
        if paid_at:
            body["paidAt"] = paid_at
        if payment_method:
            body["paymentMethod"] = payment_method
        return await self._post(f"/_test/transactions/{transaction_id}", body)

    async def orphan(self, reference: str, amount_cents: int, *, paid_at: str = "") -> PaymentTransaction:
        """A paid transaction with any Kassenzeichen: money that matches no case."""
        body: dict[str, Any] = {"reference": reference, "amount": euros(amount_cents)}
        if paid_at:
            body["paidAt"] = paid_at
        return await self._post("/_test/orphans", body)

    async def outage(self, on: bool) -> int:
        """Switch the simulated outage (503 from the XBezahldienste API) on or off; returns
        how many API calls it has turned away since it was switched on."""
        return await self._outage({"on": on})

    async def refused_during_outage(self) -> int:
        return await self._outage(None)

    async def _outage(self, body: dict[str, Any] | None) -> int:
        async with httpx.AsyncClient(auth=self._auth, timeout=10) as http:
            if body is None:
                response = await http.get(f"{self.base_url}/_test/outage")
            else:
                response = await http.post(f"{self.base_url}/_test/outage", content=ENCODER.encode(body))
        response.raise_for_status()
        refused: int = DECODER.decode(response.content)["refused"]
        return refused


async def choose(url: str, choice: str, method: str = "GIROPAY") -> httpx.Response:
    """What the citizen does on the test provider's payment page: open it, press one of its
    buttons ("bezahlen", "abbrechen", "fehlschlagen"). Answers the 303 back to the redirect URL."""
    async with httpx.AsyncClient() as http:
        page = await http.get(url)
        if page.status_code != 200:
            raise AssertionError(f"payment page {url}: {page.status_code}")
        token = re.search(r'name="token" value="([^"]+)"', page.text)
        if token is None:
            raise AssertionError(f"payment page {url} has no form")
        return await http.post(url, data={"token": token.group(1), "zahlungsart": method, "auswahl": choice})


class AutoPayer:
    """A citizen who pays every fee at once on the test provider's page: it listens to the
    payment requests on NATS (the platform's user: they are PERSONAL) and presses "bezahlen";
    with a portal session it also follows the redirect back, as a browser would (the hint
    that makes the workflow ask the provider at once). For the benchmark and the suites
    whose subject is not the payment."""

    SUBJECT = "rathaus.platform.payment.requested.v1"

    def __init__(self, nats_options: dict[str, Any], portal: httpx.AsyncClient | None = None) -> None:
        self.nats_options = nats_options
        self.portal = portal
        self.paid: dict[str, str] = {}  # transaction id -> case id
        self.errors: list[str] = []
        self._nc: Any = None
        self._tasks: set[Any] = set()
        self._running = False
        self._pulling: Any = None
        self._stream = self._durable = ""

    async def start(self) -> None:
        import asyncio
        import uuid

        import nats
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        from rathaus.platform.kernel.bus import bound_unacknowledged, stream_name

        # pings every 2 s: a node that hangs is left for another in seconds, not minutes
        async def reconnected() -> None:
            bound_unacknowledged(self._nc, 6)

        options = {
            "max_reconnect_attempts": -1,
            "ping_interval": 2,
            "max_outstanding_pings": 2,
            "reconnected_cb": reconnected,
        }
        self._nc = await nats.connect(**{**options, **self.nats_options})
        bound_unacknowledged(self._nc, 6)  # a node cut off is left for another in seconds
        js = self._nc.jetstream(timeout=10)
        stream = stream_name("platform")
        replicas = (await js.stream_info(stream)).config.num_replicas or 1
        # its own durable pull consumer from the stream's start, with as many replicas as the
        # stream: requests published while this client was away (a restarted NATS) are read
        # again and paid once, and it outlives a cluster node that dies or is cut off (an
        # ordered consumer has one replica and is not recreated when that node is gone)
        self._durable = f"autopayer-{uuid.uuid4().hex[:12]}"
        self._stream = stream
        sub = await js.pull_subscribe(
            self.SUBJECT,
            durable=self._durable,
            stream=stream,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                num_replicas=replicas,
                inactive_threshold=600,  # gone ten minutes after a client that did not stop
            ),
        )
        self._running = True
        self._pulling = asyncio.create_task(self._pull(sub), name="autopayer")

    async def _pull(self, sub: Any) -> None:
        import asyncio

        import nats

        while self._running:
            try:
                messages = await sub.fetch(16, timeout=0.5)
            except (nats.errors.TimeoutError, TimeoutError):
                continue
            except nats.errors.Error:  # a node away, a reconnect: the same consumer, again
                await asyncio.sleep(0.2)  # a back-off between attempts
                continue
            for msg in messages:
                self._on_request(msg.data)
                with contextlib.suppress(nats.errors.Error, TimeoutError):
                    await msg.ack()  # unacked: delivered again, and ignored as paid

    def _on_request(self, data: bytes) -> None:
        import asyncio

        event = DECODER.decode(data)
        body = event.get("data") or {}
        transaction_id, url = body.get("transaction_id", ""), body.get("transaction_url", "")
        if not url or transaction_id in self.paid:
            return
        self.paid[transaction_id] = body.get("case_id", "")
        task = asyncio.create_task(self._pay(url))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pay(self, url: str) -> None:
        try:
            back = await choose(url, "bezahlen")
            if self.portal is not None and back.status_code == 303:
                await self.portal.get(back.headers["location"])
        except (httpx.HTTPError, AssertionError) as exc:
            self.errors.append(f"{url}: {exc}")

    async def stop(self) -> None:
        import asyncio

        self._running = False
        if self._pulling is not None:
            await asyncio.gather(self._pulling, return_exceptions=True)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._nc is not None:
            with contextlib.suppress(Exception):  # NATS already gone: the consumer expires
                await self._nc.jetstream(timeout=5).delete_consumer(self._stream, self._durable)
            await self._nc.close()
