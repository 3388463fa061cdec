"""Which events input management consumes, and the handler of each."""

from __future__ import annotations

from rathaus.contracts.eakte.v1 import CaseOpened
from rathaus.contracts.portal import v1 as portal_v1
from rathaus.contracts.portal.v1 import ReplySubmitted
from rathaus.contracts.portal.v2 import ApplicationSubmitted
from rathaus.input.handlers import Input
from rathaus.platform.kernel.consumer import Subscriptions


def subscribe(subs: Subscriptions, handlers: Input) -> None:
    subs.on(ApplicationSubmitted)(handlers.on_application)
    subs.on(portal_v1.ApplicationSubmitted)(handlers.on_application_v1)  # from before version 2
    subs.on(CaseOpened)(handlers.on_case_opened)
    subs.on(ReplySubmitted)(handlers.on_reply)
