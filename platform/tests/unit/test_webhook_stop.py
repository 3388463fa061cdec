"""Stopping a webhook deliverer ends its loops even when a cancellation is swallowed on the
way (Python 3.11's ``asyncio.wait_for``, used inside nats-py's fetch, can turn it into a
timeout): before, the reader went on fetching and the stop waited for it for good."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats.errors

from rathaus.platform.runtime.integrators import Integrator, WebhookTarget
from rathaus.platform.runtime.webhook_store import DeliveryStore
from rathaus.platform.runtime.webhooks import WebhookDeliverer


class SwallowingSubscription:
    def __init__(self) -> None:
        self.fetching = asyncio.Event()
        self.swallowed = 0

    async def fetch(self, batch: int, timeout: float) -> list[object]:
        self.fetching.set()
        try:
            await asyncio.sleep(timeout)
        except asyncio.CancelledError:
            self.swallowed += 1
            raise nats.errors.TimeoutError from None  # the cancellation turned into a timeout
        raise nats.errors.TimeoutError


class Jetstream:
    def __init__(self) -> None:
        self.sub = SwallowingSubscription()

    async def pull_subscribe_bind(self, durable: str, stream: str) -> SwallowingSubscription:
        return self.sub


async def test_a_reader_whose_fetch_swallowed_the_cancellation_still_stops(tmp_path: Path) -> None:
    store = DeliveryStore.of(tmp_path)
    js = Jetstream()
    integrator = Integrator(
        "leitstelle",
        ["rathaus.>"],
        "2026-11-30T00:00:00+00:00",
        webhook=WebhookTarget("http://127.0.0.1:9/ereignisse", "geheim"),
    )
    deliverer = WebhookDeliverer(js, store, integrator, ["RATHAUS_PORTAL"])  # type: ignore[arg-type]
    deliverer.start()
    try:
        await asyncio.wait_for(js.sub.fetching.wait(), 10)
        await asyncio.wait_for(deliverer.stop(), 10)  # before: waited for the reader for good
    finally:
        store.close()
    assert js.sub.swallowed == 1
    assert all(task.done() for task in deliverer.tasks)
