"""Which events the portal consumes: what the citizen sees of their cases."""

from __future__ import annotations

from rathaus.contracts.broker.v2 import StreetDirectoryPublished
from rathaus.contracts.eakte.v1 import CaseOpened, MessageSent, ReplyFiled
from rathaus.contracts.output.v1 import BekanntgabeDetermined, DecisionDelivered
from rathaus.contracts.platform.v1 import (
    AppointmentReminderDue,
    CaseStatusChanged,
    DocumentsOverdue,
    PaymentCompleted,
    PaymentFailed,
    PaymentRequested,
)
from rathaus.platform.kernel.consumer import Subscriptions
from rathaus.portal.handlers import Portal


def subscribe(subs: Subscriptions, portal: Portal) -> None:
    subs.on(CaseStatusChanged)(portal.on_status)
    subs.on(CaseOpened)(portal.on_opened)
    subs.on(DecisionDelivered)(portal.on_delivered)
    subs.on(PaymentRequested)(portal.on_payment_requested)
    subs.on(PaymentCompleted)(portal.on_payment_completed)
    subs.on(PaymentFailed)(portal.on_payment_failed)
    subs.on(AppointmentReminderDue)(portal.on_reminder_due)
    subs.on(MessageSent)(portal.on_message_sent)
    subs.on(ReplyFiled)(portal.on_reply_filed)
    subs.on(DocumentsOverdue)(portal.on_documents_overdue)
    subs.on(BekanntgabeDetermined)(portal.on_bekanntgabe)
    subs.on(StreetDirectoryPublished)(portal.on_street_directory)
