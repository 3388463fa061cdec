"""Which events output management consumes."""

from __future__ import annotations

from rathaus.contracts.eakte.v1 import DecisionMade as DecisionMadeV1
from rathaus.contracts.eakte.v2 import DecisionMade
from rathaus.contracts.platform.v1 import DeliverDecision
from rathaus.contracts.portal.v1 import DocumentRetrieved
from rathaus.output.handlers import Output
from rathaus.platform.kernel.consumer import Subscriptions


def subscribe(subs: Subscriptions, output: Output) -> None:
    subs.on(DecisionMade)(output.on_decision)
    subs.on(DecisionMadeV1)(output.on_decision_v1)  # still in the streams from before an upgrade
    subs.on(DeliverDecision)(output.on_command)
    subs.on(DocumentRetrieved)(output.on_retrieved)  # may move the Bekanntgabe (§ 9 OZG)
