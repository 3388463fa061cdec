"""The workflow's only activity: publish a command or status as an event, through the
orchestration's own outbox, with an event id derived from the step (so a retried
activity publishes once)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from temporalio import activity

from rathaus.contracts.envelope import Event
from rathaus.contracts.platform.v1 import (
    AppointmentReminderDue,
    AussonderungDue,
    CaseStatusChanged,
    DecisionDeadlineChanged,
    DecisionOverdue,
    DeliverDecision,
    DocumentsOverdue,
    FictionReached,
    PaymentCompleted,
    PaymentFailed,
    RequestDecision,
    WiedervorlageDue,
)
from rathaus.platform.kernel import Kernel
from rathaus.platform.kernel.outbox import outbox_table
from rathaus.platform.kernel.telemetry import case_context
from rathaus.platform.orchestration.model import EmitCommand

NAMESPACE = uuid.UUID("8a0c2f4e-6f6e-4e0b-9a51-7261746861a5")


def build_event(command: EmitCommand) -> Event:
    f = command.fields
    now = datetime.now(UTC).isoformat()
    if command.kind == "status":
        return CaseStatusChanged(
            case_id=command.case_id, service_id=f["service_id"], status=f["status"], at=now
        )
    if command.kind == "request_decision":
        return RequestDecision(
            case_id=command.case_id, unit=f["unit"], due_at=f["due_at"], mode=f.get("mode", "clerk")
        )
    if command.kind == "fiction":
        return FictionReached(
            case_id=command.case_id, unit=f["unit"], basis=f["basis"], deadline=f["deadline"]
        )
    if command.kind == "overdue":
        return DecisionOverdue(
            case_id=command.case_id, unit=f["unit"], level=int(f["level"]), due_at=f["due_at"]
        )
    if command.kind == "deliver":
        return DeliverDecision(case_id=command.case_id, channel=f["channel"], template=f["template"])
    if command.kind == "payment_completed":
        return PaymentCompleted(
            case_id=command.case_id,
            claim_id=f["claim_id"],
            attempt=int(f["attempt"]),
            transaction_id=f["transaction_id"],
            kassenzeichen=f["kassenzeichen"],
            amount_cents=int(f["amount_cents"]),
            payment_method=f["payment_method"],
            paid_at=f["at"],
            late=f.get("late") == "1",
        )
    if command.kind == "payment_failed":
        return PaymentFailed(
            case_id=command.case_id,
            claim_id=f["claim_id"],
            attempt=int(f["attempt"]),
            transaction_id=f["transaction_id"],
            status=f["status"],
            at=f["at"],
        )
    if command.kind == "documents_overdue":
        return DocumentsOverdue(
            case_id=command.case_id,
            request_id=f["request_id"],
            unit=f["unit"],
            level=int(f["level"]),
            deadline=f["deadline"],
        )
    if command.kind == "deadline_changed":
        return DecisionDeadlineChanged(
            case_id=command.case_id, unit=f["unit"], paused=f["paused"] == "1", due_at=f["due_at"], at=f["at"]
        )
    if command.kind == "reminder":
        return AppointmentReminderDue(appointment_id=f["appointment_id"], starts_at=f["starts_at"])
    if command.kind == "wiedervorlage":
        return WiedervorlageDue(wiedervorlage_id=f["wiedervorlage_id"], case_id=command.case_id, day=f["day"])
    if command.kind == "aussonderung_due":
        return AussonderungDue(
            day=f["day"], archive=f["archive"], verfahren=f["verfahren"], trigger=f["trigger"]
        )
    raise ValueError(f"unknown command kind {command.kind!r}")


class CaseActivities:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    @activity.defn(name="emit_case_event")
    async def emit_case_event(self, command: EmitCommand) -> str:
        event_id = str(uuid.uuid5(NAMESPACE, f"{command.case_id}:{command.step}"))
        with case_context(command.case_id):
            async with self.kernel.transaction() as uow:
                already = await uow.session.execute(
                    outbox_table.select().where(outbox_table.c.event_id == event_id)
                )
                if already.first() is None:
                    await uow.emit(build_event(command), subject=command.case_id, event_id=event_id)
        return event_id
