"""A client for the test provider's ``/_test`` controls, for the fault and reconciliation
suites: change a transaction's outcome afterwards, record a payment without a case."""

from __future__ import annotations

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
