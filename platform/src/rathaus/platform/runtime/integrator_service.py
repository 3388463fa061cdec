"""The integrators' part of a running platform (started by ``rathaus up``): brings every
integrator's consumers up to the contract catalogue at start, and runs a webhook deliverer
per webhook integrator, following the registry as ``rathaus integrators`` changes it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import nats
from nats.aio.client import Client

from rathaus.platform.kernel.bus import ensure_streams
from rathaus.platform.kernel.settings import Settings
from rathaus.platform.runtime.integrators import Integrator, Registry, reconcile, registry_path
from rathaus.platform.runtime.webhook_store import DeliveryStore
from rathaus.platform.runtime.webhooks import WebhookDeliverer

log = logging.getLogger("rathaus.integrators")


class IntegratorService:
    def __init__(self, settings: Settings, poll_seconds: float = 1.0) -> None:
        self.settings = settings
        self.poll_seconds = poll_seconds
        self.nc: Client | None = None
        self.store: DeliveryStore | None = None
        self.deliverers: dict[str, tuple[Integrator, WebhookDeliverer]] = {}
        self.task: asyncio.Task[None] | None = None
        self.seen_mtime: float | None = None

    async def start(self) -> None:
        nats_settings = self.settings.nats
        self.nc = await nats.connect(
            nats_settings.servers(),
            user=nats_settings.user,
            password=nats_settings.password,
            name="rathaus-integrators",
            max_reconnect_attempts=-1,
            ping_interval=nats_settings.ping_interval_seconds,
        )
        self.store = DeliveryStore.of(self.settings.data_dir)
        self.store.prune(time.time())
        registry = Registry.load(self.settings.data_dir)
        js = self.nc.jetstream()
        await ensure_streams(js, self.settings.nats.replicas)  # the modules do too; whoever is first
        for integrator in registry.integrators.values():  # new contract versions since last time
            try:
                await reconcile(js, integrator)
            except Exception:  # one integrator's consumers must not keep the city from starting
                log.exception("consumers of integrator %s not brought up to date", integrator.name)
        await self._follow(registry)
        self.task = asyncio.create_task(self._watch(), name="integrators")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        for _, deliverer in self.deliverers.values():
            await deliverer.stop()
        self.deliverers.clear()
        if self.nc is not None:
            await self.nc.close()
        if self.store is not None:
            self.store.close()

    async def _watch(self) -> None:
        path = registry_path(self.settings.data_dir)
        while True:
            await asyncio.sleep(self.poll_seconds)  # polling the registry file for changes
            try:
                mtime = path.stat().st_mtime if path.exists() else None
                if mtime != self.seen_mtime:
                    await self._follow(Registry.load(self.settings.data_dir))
            except Exception:
                log.exception("following the integrator registry failed; trying again")

    async def _follow(self, registry: Registry) -> None:
        """Start deliverers for new webhook integrators, stop those of removed or changed ones."""
        path = registry.path
        self.seen_mtime = path.stat().st_mtime if path.exists() else None
        assert self.nc is not None and self.store is not None
        wanted = {n: i for n, i in registry.integrators.items() if i.webhook is not None}
        for name, (running, deliverer) in list(self.deliverers.items()):
            if wanted.get(name) != running:
                await deliverer.stop()
                del self.deliverers[name]
        js = self.nc.jetstream()
        for name, integrator in wanted.items():
            if name in self.deliverers:
                continue
            # `integrators add` creates the consumers; here again in case NATS was away then
            try:
                streams = await reconcile(js, integrator)
            except Exception:
                log.exception("consumers of webhook integrator %s not ready; trying again", name)
                self.seen_mtime = None  # the next look at the registry tries again
                continue
            deliverer = WebhookDeliverer(js, self.store, integrator, sorted(streams))
            deliverer.start()
            self.deliverers[name] = (integrator, deliverer)
            log.info("webhook deliverer for %s started", name)

    async def health(self) -> dict[str, Any]:
        if self.store is None:
            return {"ok": False, "error": "not started"}
        hooks = {name: self.store.counts(name) for name in self.deliverers}
        return {"ok": self.nc is not None and self.nc.is_connected, "webhooks": hooks}
