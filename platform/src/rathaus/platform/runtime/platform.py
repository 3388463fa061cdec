"""The platform in one process: the kernels and apps of some or all modules, behind
one ASGI gateway that also serves ``/health`` and the AsyncAPI document."""

from __future__ import annotations

import asyncio
import importlib
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar

from rathaus.platform import asyncapi
from rathaus.platform.kernel.blobs import BlobStore
from rathaus.platform.kernel.module import Kernel, ModuleApp
from rathaus.platform.kernel.settings import COMPONENTS, Settings
from rathaus.platform.kernel.web import create_module_app

log = logging.getLogger("rathaus.runtime")


@dataclass
class LoadedModule:
    name: str
    prefix: str
    title: str
    kernel: Kernel
    app: ModuleApp
    web: Litestar


def load_module(name: str, settings: Settings, blobs: BlobStore) -> LoadedModule:
    package = "rathaus.platform.orchestration" if name == "orchestration" else f"rathaus.{name}"
    face = importlib.import_module(package)
    bootstrap = importlib.import_module(f"{package}.bootstrap")
    kernel = Kernel(name, settings, blobs)
    app: ModuleApp = bootstrap.bootstrap(kernel)
    web = create_module_app(
        kernel, prefix=face.PREFIX, title=face.TITLE, routes=app.routes, templates=app.templates
    )
    return LoadedModule(name, face.PREFIX, face.TITLE, kernel, app, web)


class Platform:
    """Some or all modules in this process; started and stopped as one."""

    def __init__(self, settings: Settings, modules: tuple[str, ...] = COMPONENTS) -> None:
        self.settings = settings
        blobs = BlobStore(settings.blob_location())
        self.modules = [load_module(name, settings, blobs) for name in modules]
        self.extra_health: dict[str, Any] = {}
        self.seed_on_start = False  # set by `rathaus up` for a data dir that holds no data yet
        # further parts of this process (e.g. the integrators' webhook deliverer): objects with
        # ``async start()`` and ``async stop()``, started after the modules, stopped before them
        self.services: list[Any] = []
        # further ASGI apps of the gateway by URL prefix (e.g. /integratoren), before the modules
        self.extra_apps: dict[str, Any] = {}

    async def start(self) -> None:
        """Start every module; on a fresh data dir, seed the demo city first."""
        # one marker for the whole platform; in the distributed shape one per module process
        alone = len(self.modules) == 1
        marker = self.settings.data_dir / (f"seeded-{self.modules[0].name}" if alone else "seeded")
        seed = self.seed_on_start and not marker.exists()
        for module in self.modules:
            await module.kernel.start(module.app, seed=seed)
            log.info("module %s started", module.name)
        if seed:
            marker.write_text("demo data seeded\n")
        for service in self.services:
            await service.start()

    async def stop(self) -> None:
        for service in reversed(self.services):
            try:
                await service.stop()
            except Exception:
                log.exception("%s did not stop cleanly", type(service).__name__)
        for module in reversed(self.modules):
            try:
                await module.kernel.stop(module.app)
            except Exception:  # stop the others even if one fails
                log.exception("module %s did not stop cleanly", module.name)

    async def health(self) -> dict[str, Any]:
        components: dict[str, Any] = {}
        for module in self.modules:
            try:
                state = await asyncio.wait_for(module.kernel.healthy(), 5)
                for name, check in module.app.health.items():
                    state[name] = await check()
            except Exception as exc:
                state = {"ok": False, "error": str(exc)}
            components[module.name] = state
        for name, check in self.extra_health.items():
            components[name] = await check()
        return {"ok": all(c.get("ok") for c in components.values()), "components": components}

    def asyncapi(self) -> dict[str, Any]:
        consumers = {m.name: list(m.kernel.subscriptions.handlers) for m in self.modules}
        return asyncapi.build(consumers, nats_url=self.settings.nats.url)


class Gateway:
    """One origin for the browser: dispatches by URL prefix to the module apps."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.routes = sorted(((m.prefix, m.web) for m in platform.modules), key=lambda r: -len(r[0]))
        self._stack: AsyncExitStack | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope.get("path", "/")
        if path == "/health":
            body = await self.platform.health()
            await _json(send, body, 200 if body["ok"] else 503)
            return
        if path == "/asyncapi.json":
            await _json(send, self.platform.asyncapi(), 200)
            return
        for prefix, app in self.platform.extra_apps.items():
            if path.startswith(prefix + "/"):
                await app(scope, receive, send)
                return
        for prefix, app in self.routes:
            if not prefix or path == prefix or path.startswith(prefix + "/"):
                await app(scope, receive, send)
                return
        await _json(send, {"status_code": 404, "detail": "Not Found"}, 404)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self._stack = AsyncExitStack()
                    await self.platform.start()
                    self._stack.push_async_callback(self.platform.stop)
                    for _, app in self.routes:
                        await self._stack.enter_async_context(app.lifespan())
                except Exception as exc:
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._stack is not None:
                    await self._stack.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _json(send: Any, body: dict[str, Any], status: int) -> None:
    payload = msgspec.json.encode(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
