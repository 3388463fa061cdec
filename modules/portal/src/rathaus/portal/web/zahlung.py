"""The fee's payment on the case page: the way back from the payment page, the section
that updates itself while the payment is under way, and a new attempt."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Template

from rathaus.portal import PREFIX
from rathaus.portal.handlers import PaymentState
from rathaus.portal.web.common import FORMAT, PRIVATE, Pages

MSG_NOT_YOURS = "Diesen Antrag gibt es nicht oder er gehört nicht zu Ihrem Konto."


def polling(payment: PaymentState | None, expects: bool) -> bool:
    """Whether the section should ask again: something is under way."""
    if payment is None:
        return expects
    if payment.paid:
        return False
    return payment.status == "offen" or payment.restart_requested


def routes(pages: Pages) -> list[HTTPRouteHandler]:
    portal = pages.portal

    @get(f"{PREFIX}/antraege/{{case_id:str}}/zahlung", include_in_schema=False)
    async def returned(request: Request[Any, Any, Any], case_id: FromPath[str]) -> Redirect:
        """The redirect URL the payment provider sends the citizen back to. Whatever it
        carries is ignored: the workflow asks the provider for the status."""
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        if not await portal.payment_returned(visitor.account, case_id):
            raise PermissionDeniedException(MSG_NOT_YOURS)
        return Redirect(f"{PREFIX}/antraege/{case_id}?zurueck=1#zahlung", status_code=303)

    @get(f"{PREFIX}/antraege/{{case_id:str}}/zahlung/stand", include_in_schema=False)
    async def section(request: Request[Any, Any, Any], case_id: FromPath[str]) -> Template | Response[None]:
        account = await pages.api_citizen(request)
        app = await portal.application(account, case_id)
        if app is None:
            raise PermissionDeniedException(MSG_NOT_YOURS)
        payment = await portal.payment_of(account, case_id)
        expects = portal.expects_payment_first(app)
        return Template(
            "zahlung.html",
            context={
                **FORMAT,
                "app": app,
                "payment": payment,
                "polling": polling(payment, expects),
                "checking": bool(request.query_params.get("zurueck")),
            },
            headers=PRIVATE,
        )

    @post(f"{PREFIX}/antraege/{{case_id:str}}/zahlung/neu", include_in_schema=False)
    async def restart(request: Request[Any, Any, Any], case_id: FromPath[str]) -> Template | Redirect:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        app = await portal.application(visitor.account, case_id)
        if app is None:
            raise PermissionDeniedException(MSG_NOT_YOURS)
        problem = await portal.restart_payment(visitor.account, case_id)
        if problem is not None:
            return pages.render(
                "antrag_eingegangen.html",
                visitor,
                status_code=409,
                nav="antraege",
                app=app,
                title=pages.title_of(app["service_id"]),
                fresh=False,
                payment=await portal.payment_of(visitor.account, case_id),
                expects_payment=False,
                polling=False,
                checking=False,
                problem=problem,
            )
        return Redirect(f"{PREFIX}/antraege/{case_id}#zahlung", status_code=303)

    return [returned, section, restart]
