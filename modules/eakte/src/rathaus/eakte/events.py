"""Which events the E-Akte consumes, and the handler of each."""

from __future__ import annotations

from rathaus.contracts.input.v1 import DocumentRouted, ReplyRouted
from rathaus.contracts.output.v1 import BekanntgabeDetermined, DecisionDelivered
from rathaus.contracts.platform.v1 import (
    AussonderungDue,
    DecisionDeadlineChanged,
    DecisionOverdue,
    DocumentsOverdue,
    FictionReached,
    PaymentCompleted,
    PaymentFailed,
    PaymentRequested,
    PaymentsSettled,
    RequestDecision,
    WiedervorlageDue,
)
from rathaus.contracts.portal import v1 as portal_v1
from rathaus.contracts.portal import v2 as portal_v2
from rathaus.eakte.handlers import EAkte
from rathaus.platform.kernel.consumer import Subscriptions


def subscribe(subs: Subscriptions, eakte: EAkte) -> None:
    subs.on(portal_v2.ApplicationSubmitted)(eakte.open_case)
    subs.on(portal_v1.ApplicationSubmitted)(eakte.open_case_v1)  # upcast to version 2
    subs.on(DocumentRouted)(eakte.file_document)
    subs.on(RequestDecision)(eakte.request_decision)
    subs.on(DecisionOverdue)(eakte.overdue)
    subs.on(FictionReached)(eakte.fiction_reached)
    subs.on(DecisionDelivered)(eakte.file_bescheid)
    subs.on(PaymentRequested)(eakte.payment_requested)
    subs.on(PaymentCompleted)(eakte.payment_completed)
    subs.on(PaymentFailed)(eakte.payment_failed)
    subs.on(PaymentsSettled)(eakte.payments_settled)
    subs.on(portal_v1.AppointmentBooked)(eakte.appointment_booked)
    subs.on(portal_v1.AppointmentCancelled)(eakte.appointment_cancelled)
    subs.on(ReplyRouted)(eakte.file_reply)
    subs.on(DocumentsOverdue)(eakte.documents_overdue)
    subs.on(DecisionDeadlineChanged)(eakte.deadline_changed)
    subs.on(BekanntgabeDetermined)(eakte.bekanntgabe_determined)
    subs.on(portal_v1.RetrievalRecorded)(eakte.retrieval_recorded)
    subs.on(WiedervorlageDue)(eakte.wiedervorlage_due)
    subs.on(AussonderungDue)(eakte.aussonderung_due)
