"""Staff login for the pages of modules other than the E-Akte: the E-Akte owns the staff
accounts and answers ``AUTHENTICATE_STAFF`` over NATS; a module keeps who logged in in its
own session cookie."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from rathaus.contracts.eakte.rpc_v1 import AUTHENTICATE_STAFF, StaffCredentials
from rathaus.platform.kernel.module import Kernel
from rathaus.platform.kernel.rpc import RpcFailed


@dataclass(frozen=True)
class StaffSession:
    staff_id: str
    display_name: str
    role: str
    unit: str


def current_staff(request: Request[Any, Any, Any]) -> StaffSession | None:
    data = request.session.get("staff") if request.session else None
    return StaffSession(**data) if isinstance(data, dict) else None


def login_routes(kernel: Kernel, prefix: str) -> list[HTTPRouteHandler]:
    """``<prefix>/anmelden`` and ``<prefix>/abmelden`` for a module's staff pages."""

    @get(f"{prefix}/anmelden", include_in_schema=False)
    async def login_form() -> Template:
        return Template("staff_login.html", context={"error": None, "username": ""})

    @post(f"{prefix}/anmelden", include_in_schema=False)
    async def login(
        request: Request[Any, Any, Any],
        data: URLEncodedBody[dict[str, str]],
    ) -> Template | Redirect:
        username = data.get("username", "").strip()
        try:
            identity = await kernel.ask(
                AUTHENTICATE_STAFF, StaffCredentials(username=username, password=data.get("password", ""))
            )
        except RpcFailed:
            return Template(
                "staff_login.html",
                status_code=503,
                context={
                    "error": "Die Anmeldung ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.",
                    "username": username,
                },
            )
        if not identity.ok:
            return Template(
                "staff_login.html",
                context={"error": "Benutzername oder Passwort ist falsch.", "username": username},
            )
        request.set_session(
            {
                "staff": {
                    "staff_id": identity.staff_id,
                    "display_name": identity.display_name,
                    "role": identity.role,
                    "unit": identity.unit,
                }
            }
        )
        return Redirect(f"{prefix}/")

    @post(f"{prefix}/abmelden", include_in_schema=False)
    async def logout(request: Request[Any, Any, Any]) -> Redirect:
        request.clear_session()
        return Redirect(f"{prefix}/anmelden")

    return [login_form, login, logout]
