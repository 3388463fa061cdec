"""Fixtures of the portal's integration tests beyond the module's conftest: the embedded
test identity provider (a real OpenID Connect provider on its own port) and a portal that
accepts logins through it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from modules.portal.tests.conftest import start_world
from rathaus.platform.kernel import Settings
from rathaus.platform.runtime.idprovider import TestIdentityProvider, use_test_idp
from rathaus.platform.runtime.processes import free_port


@pytest.fixture
def idp(settings: Settings, tmp_path: Path) -> Iterator[TestIdentityProvider]:
    """The test identity provider on a free port; the portal's settings point at it."""
    provider = TestIdentityProvider(tmp_path / "idp", free_port())
    provider.start()
    use_test_idp(settings, provider)
    yield provider
    provider.stop()


@pytest.fixture
async def id_world(idp: TestIdentityProvider, settings: Settings) -> AsyncIterator[Any]:
    """The portal (without the data broker) that accepts logins through the test provider."""
    async for world in start_world(settings, with_broker=False):
        idp.allow_portal(world.base_url)
        yield world


@pytest.fixture
async def id_world_broker(idp: TestIdentityProvider, settings: Settings) -> AsyncIterator[Any]:
    """The same with the data broker (seeded registers): register data on request."""
    async for world in start_world(settings, with_broker=True):
        idp.allow_portal(world.base_url)
        yield world
