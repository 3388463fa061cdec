"""Staff page of output management: the own unit's deliveries and what its cases sent to
other authorities."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect, Template

from rathaus.output import PREFIX
from rathaus.output.handlers import Output
from rathaus.platform.kernel.staffauth import current_staff, login_routes


def routes(output: Output) -> list[HTTPRouteHandler]:
    @get(f"{PREFIX}/", include_in_schema=False)
    async def deliveries(request: Request[Any, Any, Any]) -> Template | Redirect:
        staff = current_staff(request)
        if staff is None:
            return Redirect(f"{PREFIX}/anmelden")
        return Template(
            "deliveries.html",
            context={
                "staff": staff,
                "rows": await output.deliveries(staff.unit),
                "forwards": await output.forwards(staff.unit),
            },
        )

    return [*login_routes(output.kernel, PREFIX), deliveries]
