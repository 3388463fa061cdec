"""The platform in one process: the kernels and apps of some or all modules, behind
one ASGI gateway that also serves ``/health`` and the AsyncAPI document."""

from __future__ import annotations

import asyncio
import importlib
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
from litestar import Litestar

from rathaus.platform import asyncapi
from rathaus.platform.kernel.blobs import BlobStore
from rathaus.platform.kernel.module import Kernel, ModuleApp
from rathaus.platform.kernel.settings import COMPONENTS, Settings
from rathaus.platform.kernel.web import create_module_app
from rathaus.platform.runtime.processes import stopping

log = logging.getLogger("rathaus.runtime")

# headers of one connection, not of the request: never passed on (RFC 9110, 7.6.1)
HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
}
MSG_OTHER_PROCESS_AWAY = (
    "Dieser Teil von Rathaus ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal."
)


@dataclass
class LoadedModule:
    name: str
    prefix: str
    title: str
    kernel: Kernel
    app: ModuleApp
    web: Litestar


def module_package(name: str) -> str:
    return "rathaus.platform.orchestration" if name == "orchestration" else f"rathaus.{name}"


def module_prefix(name: str) -> str:
    """The URL prefix of a module's pages and API (its package's ``PREFIX``)."""
    return str(importlib.import_module(module_package(name)).PREFIX)


def load_module(name: str, settings: Settings, blobs: BlobStore) -> LoadedModule:
    package = module_package(name)
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
        # the other processes of the same platform behind this gateway (`rathaus up` on two
        # cores, and with --replicas further replicas of each group of modules): the gateway
        # passes their modules' requests on, choosing in turn among the processes that run
        # a module (this one included), and merges their health and AsyncAPI operations
        self.others: list[OtherProcess] = []

    async def start(self) -> None:
        """Start every module; on a fresh data dir, seed the demo city first."""
        # one marker for the whole platform; one per module process in the distributed shape
        # and per group of modules when `rathaus up` runs them in two processes
        names = tuple(m.name for m in self.modules)
        marker = self.settings.data_dir / ("seeded" if names == COMPONENTS else f"seeded-{'+'.join(names)}")
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
                with stopping(type(service).__name__):
                    await service.stop()
            except Exception:
                log.exception("%s did not stop cleanly", type(service).__name__)
        for module in reversed(self.modules):
            try:
                with stopping(f"Modul {module.name}"):
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
        for other in self.others:
            suffix = f" #{other.replica}" if other.replica else ""
            theirs = await _remote_health(other.base)
            components.update({name + suffix: state for name, state in theirs.items()})
        return {"ok": all(c.get("ok") for c in components.values()), "components": components}

    async def asyncapi(self) -> dict[str, Any]:
        consumers = {m.name: list(m.kernel.subscriptions.handlers) for m in self.modules}
        document = asyncapi.build(consumers, nats_url=self.settings.nats.url)
        for other in self.others:
            if other.replica:  # the same operations as its first replica's
                continue
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    theirs = (await client.get(f"{other.base}/asyncapi.json")).json()
                document["operations"].update(theirs.get("operations", {}))
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("AsyncAPI of %s not reachable: %s", other.base, exc)
        return document

    def targets(self) -> dict[str, tuple[str, ...]]:
        """URL prefix -> the processes that serve it (``LOCAL`` for this one, else a base
        URL), for every prefix another process serves."""
        served: dict[str, list[str]] = {}
        for other in self.others:
            for module in other.modules:
                served.setdefault(module_prefix(module), []).append(other.base)
        own = {m.prefix for m in self.modules}
        return {
            prefix: ((LOCAL,) if prefix in own else ()) + tuple(bases) for prefix, bases in served.items()
        }


# a target of the gateway: a module of this process (not passed on)
LOCAL = ""


@dataclass(frozen=True)
class OtherProcess:
    """Another process of the platform behind this one's gateway: where it listens, which
    modules it runs and which replica of them it is (0 the first)."""

    base: str
    modules: tuple[str, ...]
    replica: int = 0


async def _remote_health(base: str) -> dict[str, Any]:
    """The components of another process of the platform, as its /health reports them."""
    try:
        async with httpx.AsyncClient(timeout=6) as client:
            body = (await client.get(f"{base}/health")).json()
        return dict(body["components"])
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return {base: {"ok": False, "error": f"nicht erreichbar: {type(exc).__name__}"}}


class Gateway:
    """One origin for the browser: dispatches by URL prefix to the module apps."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.routes = sorted(((m.prefix, m.web) for m in platform.modules), key=lambda r: -len(r[0]))
        self.local = dict(self.routes)
        # prefixes other processes serve, longest first, each with its processes taken in turn
        self.shared = sorted(platform.targets().items(), key=lambda r: -len(r[0]))
        self._turn: dict[str, int] = {}
        self._stack: AsyncExitStack | None = None
        self._client: httpx.AsyncClient | None = None

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
            await _json(send, await self.platform.asyncapi(), 200)
            return
        for prefix, app in self.platform.extra_apps.items():
            if path.startswith(prefix + "/"):
                await app(scope, receive, send)
                return
        for prefix, targets in self.shared:
            if path == prefix or path.startswith(prefix + "/"):
                await self._dispatch(prefix, targets, scope, receive, send)
                return
        for prefix, app in self.routes:
            if not prefix or path == prefix or path.startswith(prefix + "/"):
                await app(scope, receive, send)
                return
        await _json(send, {"status_code": 404, "detail": "Not Found"}, 404)

    async def _dispatch(
        self, prefix: str, targets: tuple[str, ...], scope: Any, receive: Any, send: Any
    ) -> None:
        """Round robin over the processes that serve ``prefix``, as a load balancer does; a
        process that refuses the connection (killed, restarting) is passed over for the
        next one, as the request has not been sent yet."""
        turn = self._turn.get(prefix, 0)
        self._turn[prefix] = turn + 1
        order = targets[turn % len(targets) :] + targets[: turn % len(targets)]
        for i, target in enumerate(order):
            if target == LOCAL:
                await self.local[prefix](scope, receive, send)
                return
            if await self._pass_on(target, scope, receive, send, last=i == len(order) - 1):
                return

    async def _pass_on(self, base: str, scope: Any, receive: Any, send: Any, *, last: bool = True) -> bool:
        """A request for a module of another process: passed on as it came (streamed both
        ways, redirects and cookies untouched), with the client's address in
        X-Forwarded-For, which that process trusts from the loopback only. False when that
        process refused the connection and another one may take the request (not ``last``)."""
        if scope["type"] != "http":
            return True
        assert self._client is not None, "the gateway has not started"
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string") or b""
        url = base + raw_path.decode("latin-1") + (("?" + query.decode("latin-1")) if query else "")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
        client = scope.get("client")
        if client:
            headers.append((b"x-forwarded-for", client[0].encode()))
        headers.append((b"x-forwarded-proto", scope.get("scheme", "http").encode()))

        async def body() -> Any:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return
                if message.get("body"):
                    yield message["body"]
                if not message.get("more_body"):
                    return

        has_body = any(k.lower() in (b"content-length", b"transfer-encoding") for k, _ in scope["headers"])
        request = self._client.build_request(
            scope["method"], url, headers=headers, content=body() if has_body else None
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            log.warning("%s not reachable for %s: %s", base, scope["path"], exc)
            if isinstance(exc, httpx.ConnectError) and not last:
                return False  # nothing of the request was sent: the next process takes it
            await _json(send, {"status_code": 502, "detail": MSG_OTHER_PROCESS_AWAY}, 502)
            return True
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP],
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()
        return True

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self._stack = AsyncExitStack()
                    if self.platform.others:
                        # long enough for an upload or a large download; no pool limit to wait on
                        self._client = await self._stack.enter_async_context(
                            httpx.AsyncClient(timeout=httpx.Timeout(300, connect=5), limits=httpx.Limits())
                        )
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
