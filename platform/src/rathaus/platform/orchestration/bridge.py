"""The signal bridge: turns the modules' events into signals of the case workflow.

Every event signals with start (signal-with-start), so the order in which the
streams deliver does not matter: the first event of a case starts its workflow.
Only ids, types and outcomes cross into Temporal, never a citizen's data.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import msgspec
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from rathaus.contracts.eakte import v1 as eakte_v1
from rathaus.contracts.eakte.v1 import (
    AppointmentCheckedIn,
    CaseOpened,
    ClaimCreated,
    DocumentFiled,
    DocumentsRequested,
    ReplyFiled,
    WiedervorlageCancelled,
    WiedervorlageSet,
)
from rathaus.contracts.eakte.v2 import DecisionMade
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.contracts.portal import v1 as portal_v1
from rathaus.contracts.portal.v1 import (
    AppointmentBooked,
    AppointmentCancelled,
    PaymentRestartRequested,
    PaymentReturned,
)
from rathaus.contracts.portal.v2 import ApplicationSubmitted
from rathaus.platform.kernel import Kernel, UnitOfWork
from rathaus.platform.kernel.calendar import munich_day
from rathaus.platform.kernel.consumer import RetryLater
from rathaus.platform.kernel.procedures import Definition
from rathaus.platform.kernel.procedures.fees import FeeError
from rathaus.platform.kernel.procedures.upcast import application as upcast_application
from rathaus.platform.orchestration.model import (
    APPOINTMENT_BOOKED,
    APPOINTMENT_CANCELLED,
    CASE_OPENED,
    CHECKED_IN,
    CLAIM_CREATED,
    DECISION_DELIVERED,
    DECISION_MADE_V2,
    DOCUMENT_FILED,
    DOCUMENTS_REQUESTED,
    PAYMENT_RESTART,
    PAYMENT_RETURNED,
    REPLY_FILED,
    SUBMITTED_V2,
    CaseSignal,
)
from rathaus.platform.orchestration.timers import WiedervorlageInput

log = logging.getLogger("rathaus.orchestration")
MUNICH = ZoneInfo("Europe/Berlin")
TEMPORAL_AWAY = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED}


def request_seconds(requested_at: str, deadline: str) -> float:
    """Seconds from a Nachforderung to the end of its deadline's day in Munich (at least one)."""
    end = datetime.combine(date.fromisoformat(deadline), time(23, 59, 59), tzinfo=MUNICH)
    return max((end - datetime.fromisoformat(requested_at)).total_seconds(), 1.0)


class Bridge:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.client: Client | None = None
        subs = kernel.subscriptions
        subs.on(ApplicationSubmitted)(self.on_submitted)
        subs.on(portal_v1.ApplicationSubmitted)(self.on_submitted_v1)
        subs.on(CaseOpened)(self.on_case_opened)
        subs.on(DocumentFiled)(self.on_document_filed)
        subs.on(DecisionMade)(self.on_decision_made)
        subs.on(eakte_v1.DecisionMade)(self.on_decision_made)
        subs.on(DecisionDelivered)(self.on_delivered)
        subs.on(ClaimCreated)(self.on_claim)
        subs.on(PaymentReturned)(self.on_returned)
        subs.on(PaymentRestartRequested)(self.on_restart)
        subs.on(AppointmentBooked)(self.on_booked)
        subs.on(AppointmentCancelled)(self.on_cancelled)
        subs.on(AppointmentCheckedIn)(self.on_checked_in)
        subs.on(DocumentsRequested)(self.on_documents_requested)
        subs.on(ReplyFiled)(self.on_reply_filed)
        subs.on(WiedervorlageSet)(self.on_wiedervorlage_set)
        subs.on(WiedervorlageCancelled)(self.on_wiedervorlage_cancelled)

    async def on_submitted_v1(self, event: portal_v1.ApplicationSubmitted, uow: UnitOfWork) -> None:
        await self.on_submitted(
            upcast_application(event, self.kernel.procedures.get(event.service_id, 1)), uow
        )

    async def on_submitted(self, event: ApplicationSubmitted, uow: UnitOfWork) -> None:
        """The case's parameters from the procedure version it was submitted with."""
        definition = self.kernel.procedures.pinned(
            event.service_id, event.service_version, event.procedure_digest
        )
        proc = definition.procedure
        scale = self.kernel.settings.deadline_scale
        day = 86400 * scale
        fields = {
            "service_id": event.service_id,
            "service_version": str(event.service_version),
            "unit": proc.unit,
            "attachments_expected": str(len(event.attachments)),
            "decision_seconds": str(proc.decision.reminder_days * day),
            "escalation_seconds": str(proc.decision.escalation_days * day),
            "mode": proc.decision.mode,
            "fiction_seconds": str(proc.decision.fiction_days * day),
            "fiction_basis": proc.decision.fiction_basis,
            "channel": proc.delivery.channel,
            # the payment step only where there is something to pay (the E-Akte's Forderung)
            "payment": proc.fee.payment if self.fee_due(definition, event) else "none",
            # an operational timeout, not a Frist: not scaled with the deadlines
            "payment_seconds": str(self.kernel.settings.payment.attempt_hours * 3600),
            "appointment": "1" if proc.appointment else "0",
            **{f"template:{outcome}": name for outcome, name in definition.templates.items()},
        }
        await self.signal(event.case_id, SUBMITTED_V2, uow, fields)

    @staticmethod
    def fee_due(definition: Definition, event: ApplicationSubmitted) -> bool:
        """Whether the E-Akte creates a Forderung for this case: a fee above zero at the rates
        of the (Munich) day it came in. A fee that cannot be computed that day gets none (the
        E-Akte records why), so the case does not wait for a payment that cannot come."""
        if definition.procedure.fee.payment == "none":
            return False
        try:
            return definition.fee_cents(event.data, munich_day(event.submitted_at)) > 0
        except FeeError:
            return False

    async def on_case_opened(self, event: CaseOpened, uow: UnitOfWork) -> None:
        await self.signal(event.case_id, CASE_OPENED, uow, {})

    async def on_document_filed(self, event: DocumentFiled, uow: UnitOfWork) -> None:
        fields = {"document_id": event.document_id, "document_type": event.document_type}
        await self.signal(event.case_id, DOCUMENT_FILED, uow, fields)

    async def on_decision_made(self, event: DecisionMade | eakte_v1.DecisionMade, uow: UnitOfWork) -> None:
        await self.signal(event.case_id, DECISION_MADE_V2, uow, {"outcome": event.outcome})

    async def on_delivered(self, event: DecisionDelivered, uow: UnitOfWork) -> None:
        await self.signal(event.case_id, DECISION_DELIVERED, uow, {})

    async def on_claim(self, event: ClaimCreated, uow: UnitOfWork) -> None:
        fields = {
            "claim_id": event.claim_id,
            "kassenzeichen": event.kassenzeichen,
            "amount_cents": str(event.amount_cents),
            "purpose": event.purpose,
            "description": event.description,
            "lines": json.dumps([msgspec.to_builtins(line) for line in event.lines]),
        }
        await self.signal(event.case_id, CLAIM_CREATED, uow, fields)

    async def on_returned(self, event: PaymentReturned, uow: UnitOfWork) -> None:
        await self.signal(event.case_id, PAYMENT_RETURNED, uow, {})

    async def on_restart(self, event: PaymentRestartRequested, uow: UnitOfWork) -> None:
        await self.signal(event.case_id, PAYMENT_RESTART, uow, {"claim_id": event.claim_id})

    async def on_booked(self, event: AppointmentBooked, uow: UnitOfWork) -> None:
        """The reminder's timer; and a case that waits for the visit learns of it."""
        await self.start_reminder(event)
        if event.case_id:
            await self.signal(
                event.case_id, APPOINTMENT_BOOKED, uow, {"appointment_id": event.appointment_id}
            )

    async def on_cancelled(self, event: AppointmentCancelled, uow: UnitOfWork) -> None:
        client = self.connected()
        try:
            await client.get_workflow_handle(f"termin-{event.appointment_id}").signal("cancel")
        except RPCError as exc:
            if exc.status in TEMPORAL_AWAY:
                raise RetryLater(f"Temporal unavailable: {exc}") from exc
            if exc.status != RPCStatusCode.NOT_FOUND:  # not found: done already, or never timed
                raise
        if event.case_id:
            fields = {"appointment_id": event.appointment_id}
            await self.signal(event.case_id, APPOINTMENT_CANCELLED, uow, fields)

    async def on_checked_in(self, event: AppointmentCheckedIn, uow: UnitOfWork) -> None:
        if event.case_id:
            await self.signal(event.case_id, CHECKED_IN, uow, {"appointment_id": event.appointment_id})

    async def on_documents_requested(self, event: DocumentsRequested, uow: UnitOfWork) -> None:
        """A Nachforderung: its deadline (the end of its day in Munich) and grace period as
        the workflow's timers, scaled like every deadline."""
        scale = self.kernel.settings.deadline_scale
        fields = {
            "request_id": event.request_id,
            "deadline": event.deadline,
            "deadline_seconds": str(request_seconds(event.requested_at, event.deadline) * scale),
            "grace_seconds": str(event.grace_days * 86400 * scale),
        }
        await self.signal(event.case_id, DOCUMENTS_REQUESTED, uow, fields)

    async def on_reply_filed(self, event: ReplyFiled, uow: UnitOfWork) -> None:
        fields = {"request_id": event.request_id, "complete": "1" if event.complete else "0"}
        await self.signal(event.case_id, REPLY_FILED, uow, fields)

    async def on_wiedervorlage_set(self, event: WiedervorlageSet, uow: UnitOfWork) -> None:
        """A follow-up's timer: until its day starts in Munich, scaled like every deadline."""
        start = datetime.combine(date.fromisoformat(event.day), time(0, 0), tzinfo=MUNICH)
        set_at = datetime.fromisoformat(event.set_at)
        # the time already gone since it was set (a late or redelivered event) counts
        elapsed = (datetime.now(set_at.tzinfo or MUNICH) - set_at).total_seconds()
        scaled = (start - set_at).total_seconds() * self.kernel.settings.deadline_scale
        follow_up = WiedervorlageInput(
            wiedervorlage_id=event.wiedervorlage_id,
            case_id=event.case_id,
            day=event.day,
            seconds=max(scaled - max(elapsed, 0.0), 1.0),
        )
        client = self.connected()
        try:
            await client.start_workflow(
                "WiedervorlageWorkflow",
                follow_up,
                id=f"wiedervorlage-{event.wiedervorlage_id}",
                task_queue=self.kernel.settings.temporal.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            pass  # a redelivered event
        except RPCError as exc:
            if exc.status in TEMPORAL_AWAY:
                raise RetryLater(f"Temporal unavailable: {exc}") from exc
            raise

    async def on_wiedervorlage_cancelled(self, event: WiedervorlageCancelled, uow: UnitOfWork) -> None:
        client = self.connected()
        try:
            await client.get_workflow_handle(f"wiedervorlage-{event.wiedervorlage_id}").signal("cancel")
        except RPCError as exc:
            if exc.status in TEMPORAL_AWAY:
                raise RetryLater(f"Temporal unavailable: {exc}") from exc
            if exc.status != RPCStatusCode.NOT_FOUND:  # not found: fired already, or never timed
                raise

    def connected(self) -> Client:
        if self.client is None:  # the consumers start before the Temporal client connects
            raise RetryLater("Temporal client not connected yet")
        return self.client

    async def start_reminder(self, event: AppointmentBooked) -> None:
        client = self.connected()
        try:
            await client.start_workflow(
                "AppointmentWorkflow",
                args=[event.appointment_id, event.starts_at],
                id=f"termin-{event.appointment_id}",
                task_queue=self.kernel.settings.temporal.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            pass  # a redelivered booking
        except RPCError as exc:
            if exc.status in TEMPORAL_AWAY:
                raise RetryLater(f"Temporal unavailable: {exc}") from exc
            raise

    async def signal(self, case_id: str, type_: str, uow: UnitOfWork, fields: dict[str, str]) -> None:
        client = self.connected()
        assert uow.envelope is not None
        signal = CaseSignal(type=type_, event_id=uow.envelope.id, fields=fields)
        try:
            await client.start_workflow(
                "CaseWorkflow",
                case_id,
                id=case_id,
                task_queue=self.kernel.settings.temporal.task_queue,
                start_signal="event",
                start_signal_args=[signal],
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
        except WorkflowAlreadyStartedError:
            log.info("case %s is closed; late event %s ignored", case_id, type_)
        except RPCError as exc:
            # Temporal away (restarting, overloaded) is no fault of the event: were it
            # retried only max_deliver times, a longer outage would park the case's events
            if exc.status in TEMPORAL_AWAY:
                raise RetryLater(f"Temporal unavailable: {exc}") from exc
            raise
