"""The citizen's account: register, log in and out, the account page, who used my data."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from rathaus.platform.kernel.rpc import RpcFailed
from rathaus.portal import PREFIX
from rathaus.portal.domain import safe_next, validate_registration
from rathaus.portal.domain.sessions import AMR_PASSWORD
from rathaus.portal.web.common import LOGIN, Pages
from rathaus.portal.web.sitzung import begin_login, expired_notice

REGISTRATION_FIELDS = ("given_name", "family_name", "birth_date", "email")


async def form_of(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The text fields of a posted form (anything else is ignored)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def routes(pages: Pages) -> list[HTTPRouteHandler]:
    portal = pages.portal

    @get(LOGIN, include_in_schema=False)
    async def login_form(request: Request[Any, Any, Any], next: FromQuery[str] = "") -> Template:
        return pages.render(
            "login.html",
            await pages.visitor(request),
            nav="anmelden",
            error=None,
            email="",
            next=safe_next(next),
            expired=expired_notice(request),
        )

    @post(LOGIN, include_in_schema=False)
    async def login(request: Request[Any, Any, Any]) -> Template | Redirect:
        data = await form_of(request)
        target = safe_next(data.get("next"))
        account, message = await portal.login(data.get("email", ""), data.get("password", ""))
        if account is None:
            return pages.render(
                "login.html",
                await pages.visitor(request),
                status_code=400,
                nav="anmelden",
                error=message,
                email=data.get("email", "")[:200],
                next=target,
            )
        begin_login(request, pages, account.account_id, account.assurance_level, AMR_PASSWORD)
        return Redirect(target, status_code=303)

    @post(f"{PREFIX}/konto/abmelden", include_in_schema=False)
    async def logout(request: Request[Any, Any, Any]) -> Redirect:
        request.clear_session()
        return Redirect(f"{PREFIX}/", status_code=303)

    @get(f"{PREFIX}/konto/registrieren", include_in_schema=False)
    async def register_form(request: Request[Any, Any, Any]) -> Template:
        return pages.render(
            "register.html", await pages.visitor(request), nav="anmelden", errors={}, values={}
        )

    @post(f"{PREFIX}/konto/registrieren", include_in_schema=False)
    async def register(request: Request[Any, Any, Any]) -> Template | Redirect:
        data = await form_of(request)
        values = {k: data.get(k, "").strip()[:200] for k in REGISTRATION_FIELDS}
        errors = validate_registration(
            {**values, **{k: data.get(k, "") for k in ("password", "password_repeat")}}
        )
        if not errors:
            try:
                account_id = await portal.register(
                    email=values["email"],
                    password=data.get("password", ""),
                    given_name=values["given_name"],
                    family_name=values["family_name"],
                    birth_date=values["birth_date"],
                )
            except ValueError as refused:
                errors["email"] = str(refused)
            else:
                begin_login(request, pages, account_id, "niedrig", AMR_PASSWORD)
                return Redirect(f"{PREFIX}/konto?neu=1", status_code=303)
        return pages.render(
            "register.html",
            await pages.visitor(request),
            status_code=400,
            nav="anmelden",
            errors=errors,
            values=values,
        )

    @get(f"{PREFIX}/konto", include_in_schema=False)
    async def account(request: Request[Any, Any, Any], neu: FromQuery[str] = "") -> Template:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        keys = await portal.passkeys_of(visitor.account.account_id)
        return pages.render("account.html", visitor, nav="konto", new=bool(neu), passkeys=keys)

    @get(f"{PREFIX}/konto/datennutzung", include_in_schema=False)
    async def transparency(request: Request[Any, Any, Any]) -> Template:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        try:
            entries, unavailable = await portal.transparency(visitor.account), False
        except RpcFailed:
            entries, unavailable = [], True
        return pages.render(
            "datennutzung.html", visitor, nav="datennutzung", entries=entries, unavailable=unavailable
        )

    return [login_form, login, logout, register_form, register, account, transparency]
