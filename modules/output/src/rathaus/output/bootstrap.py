"""Composition root of output management."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from rathaus.output.events import subscribe
from rathaus.output.handlers import Output
from rathaus.output.store import metadata
from rathaus.output.web import routes
from rathaus.platform.kernel import Kernel, ModuleApp

HERE = Path(__file__).parent


def bootstrap(kernel: Kernel) -> ModuleApp:
    output = Output(kernel)
    subscribe(kernel.subscriptions, output)
    tasks: list[asyncio.Task[None]] = []

    async def start_mail() -> None:
        tasks.append(asyncio.create_task(output.mailer.mail_loop(), name="output-mail"))

    async def stop_mail() -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return ModuleApp(
        routes=routes(output),
        templates=HERE / "templates",
        migrations=HERE / "migrations",
        metadata=metadata,
        on_start=[start_mail],
        on_stop=[stop_mail],
    )
