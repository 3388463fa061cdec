"""Public information page of the data broker: the once-only rules and aggregate figures."""

from __future__ import annotations

from litestar import get
from litestar.handlers import HTTPRouteHandler
from litestar.response import Template

from rathaus.broker import PREFIX
from rathaus.broker.domain import catalogue
from rathaus.broker.handlers import Broker


def routes(broker: Broker) -> list[HTTPRouteHandler]:
    @get(f"{PREFIX}/", name="broker:home", include_in_schema=False)
    async def home() -> Template:
        return Template("home.html", context={"stats": await broker.statistics(), "registers": catalogue()})

    return [home]
