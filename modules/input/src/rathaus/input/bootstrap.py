"""Composition root of input management: wires the kernel's adapters into the handlers,
and starts the reader and the watched intake folder."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from rathaus.input.events import subscribe
from rathaus.input.folder import IntakeFolder
from rathaus.input.handlers import Input
from rathaus.input.store import metadata
from rathaus.input.web import routes
from rathaus.platform.kernel import Kernel, ModuleApp

HERE = Path(__file__).parent


def bootstrap(kernel: Kernel) -> ModuleApp:
    handlers = Input(kernel)
    subscribe(kernel.subscriptions, handlers)
    folder = IntakeFolder(handlers, kernel.settings.data_dir)
    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        tasks.append(asyncio.create_task(handlers.read_loop(), name="input-reader"))
        await folder.start()

    async def stop() -> None:
        await folder.stop()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        tasks.clear()

    async def reader_running() -> bool:
        return any(not t.done() for t in tasks)

    return ModuleApp(
        routes=routes(handlers),
        templates=HERE / "templates",
        migrations=HERE / "migrations",
        metadata=metadata,
        on_start=[start],
        on_stop=[stop],
        health={"eingangsordner": folder.running, "texterkennung": reader_running},
    )
