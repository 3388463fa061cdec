"""What every embedded stand-in for an outside system shares (the test payment provider,
the test identity provider): its own small ASGI app on its own loopback port, run in a
thread by ``rathaus up`` and the tests (``start``/``stop``) or in the foreground by its own
command (``run``), and answering ``/health`` for the platform's."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any, TextIO

import httpx
import uvicorn

from rathaus.platform.runtime.processes import RuntimeProblem, require_free


class StandIn:
    """Subclasses say what they are (``what``, ``label``), build their app (``app``) and may
    print more when run in the foreground (``banner``)."""

    __test__ = False  # not a pytest test class
    what = "the stand-in"  # for messages: "the test payment provider"
    label = "Stand-in"  # as `rathaus …` prints it: "Zahlungsanbieter (Test)"
    mark = ""  # the notice every page carries, printed too
    # where it listens: the loopback; "0.0.0.0" only inside a container, where the published
    # port reaches the container's interface and never its loopback (the containerised e2e)
    host = "127.0.0.1"

    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def app(self) -> Any:
        raise NotImplementedError

    def banner(self, out: TextIO) -> None:
        """More lines after the URL when run in the foreground."""

    def _make_server(self) -> uvicorn.Server:
        return uvicorn.Server(
            uvicorn.Config(
                self.app(),
                host=self.host,
                port=self.port,
                log_level="warning",
                access_log=False,
                lifespan="on",
            )
        )

    def start(self, timeout: float = 30.0) -> None:
        require_free(self.port, self.what)
        self._server = server = self._make_server()
        self._thread = threading.Thread(target=server.run, name=type(self).__name__, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeProblem(f"{self.what} did not start on port {self.port}")
            time.sleep(0.02)  # polling the server's start, not waiting for a result

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(15)

    async def health(self) -> dict[str, Any]:
        """For the platform's ``/health``: does the stand-in answer?"""
        try:
            async with httpx.AsyncClient(timeout=3) as http:
                response = await http.get(f"{self.base_url}/health")
            return {"ok": response.status_code == 200, "url": self.base_url, "test": True}
        except httpx.HTTPError as exc:
            return {"ok": False, "url": self.base_url, "error": type(exc).__name__}

    def run(self, out: TextIO) -> None:
        """In the foreground until Ctrl-C (its own `rathaus` command)."""
        require_free(self.port, self.what, self.host)
        server = self._make_server()

        async def main() -> None:
            task = asyncio.create_task(server.serve())
            while not server.started:
                if task.done():
                    break
                await asyncio.sleep(0.02)
            if server.started:
                out.write(f"{self.label:34} {self.base_url}\n")
                self.banner(out)
                out.write(f"{self.mark}.\nBeenden mit Strg-C.\n")
                out.flush()
            await task
            if not server.started:
                raise RuntimeProblem(f"{self.what} did not start on port {self.port}")

        # uvicorn re-raises Ctrl-C after its graceful shutdown: that is a normal stop
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())
