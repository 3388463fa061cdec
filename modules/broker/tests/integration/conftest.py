"""The broker with its seeded registers, and a portal kernel to ask it over the real bus;
a throwaway PostgreSQL cluster for the migration test (skipped where there is none)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rathaus.broker.bootstrap import bootstrap
from rathaus.platform.kernel import Kernel, ModuleApp, Settings


@pytest.fixture
async def started(settings: Settings) -> AsyncIterator[tuple[Kernel, ModuleApp, Kernel]]:
    """The broker (its kernel and app) and a portal kernel to ask it."""
    broker = Kernel("broker", settings)
    app = bootstrap(broker)
    await broker.start(app, seed=True)
    portal = Kernel("portal", settings)
    await portal.start(ModuleApp())
    yield broker, app, portal
    await portal.stop(ModuleApp())
    await broker.stop(app)


@pytest.fixture
def kernels(started: tuple[Kernel, ModuleApp, Kernel]) -> tuple[Kernel, Kernel]:
    return started[0], started[2]
