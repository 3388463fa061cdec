"""Composition root of the opendata module: wires the kernel's adapters into the handlers."""

from __future__ import annotations

from pathlib import Path

from rathaus.opendata.events import subscribe
from rathaus.opendata.handlers import OpenData
from rathaus.opendata.store import metadata
from rathaus.opendata.web import routes
from rathaus.platform.kernel import Kernel, ModuleApp

HERE = Path(__file__).parent


def bootstrap(kernel: Kernel) -> ModuleApp:
    opendata = OpenData(kernel)
    subscribe(kernel.subscriptions, opendata)
    return ModuleApp(
        routes=routes(opendata),
        templates=HERE / "templates",
        migrations=HERE / "migrations",
        metadata=metadata,
        on_start=[opendata.ensure_datasets],
    )
