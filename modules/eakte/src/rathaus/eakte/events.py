"""Which events the E-Akte consumes, and the handler of each."""

from __future__ import annotations

from rathaus.contracts.input.v1 import DocumentRouted
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.contracts.platform.v1 import DecisionOverdue, RequestDecision
from rathaus.contracts.portal.v1 import ApplicationSubmitted
from rathaus.eakte.handlers import EAkte
from rathaus.platform.kernel.consumer import Subscriptions


def subscribe(subs: Subscriptions, eakte: EAkte) -> None:
    subs.on(ApplicationSubmitted)(eakte.open_case)
    subs.on(DocumentRouted)(eakte.file_document)
    subs.on(RequestDecision)(eakte.request_decision)
    subs.on(DecisionOverdue)(eakte.overdue)
    subs.on(DecisionDelivered)(eakte.file_bescheid)
