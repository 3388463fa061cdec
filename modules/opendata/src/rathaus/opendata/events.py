"""Which events the open-data portal consumes (internal data class only, never personal)."""

from __future__ import annotations

from rathaus.contracts.eakte.v1 import CaseOpened, ClaimRefunded, DocumentsRequested, ReplyFiled
from rathaus.contracts.output.v1 import BekanntgabeDetermined, DecisionDelivered
from rathaus.contracts.platform.v1 import DocumentsOverdue, PaymentCompleted
from rathaus.opendata.handlers import OpenData
from rathaus.platform.kernel.consumer import Subscriptions


def subscribe(subs: Subscriptions, opendata: OpenData) -> None:
    subs.on(CaseOpened)(opendata.on_case_opened)
    subs.on(DecisionDelivered)(opendata.on_decision_delivered)
    subs.on(PaymentCompleted)(opendata.on_payment_completed)
    subs.on(ClaimRefunded)(opendata.on_claim_refunded)
    subs.on(DocumentsRequested)(opendata.on_documents_requested)
    subs.on(ReplyFiled)(opendata.on_reply_filed)
    subs.on(DocumentsOverdue)(opendata.on_documents_overdue)
    subs.on(BekanntgabeDetermined)(opendata.on_bekanntgabe_determined)
