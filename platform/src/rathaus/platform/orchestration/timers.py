"""Small workflows beside the case workflow: the reminder the day before an appointment (a
timer, cancelled with the appointment), the Wiedervorlage of a case (a timer, cancelled when
the follow-up is lifted) and the daily reconciliation of payments (started by a Temporal
schedule, or by ``rathaus abgleich``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from rathaus.platform.orchestration.model import EmitCommand

BERLIN = ZoneInfo("Europe/Berlin")
REMIND_BEFORE = timedelta(days=1)
SCHEDULE_ID = "rathaus-zahlungsabgleich"
SETTLEMENT_RETRY = RetryPolicy(initial_interval=timedelta(seconds=10), maximum_interval=timedelta(minutes=10))


@workflow.defn(name="AppointmentWorkflow")
class AppointmentWorkflow:
    def __init__(self) -> None:
        self.cancelled = False

    @workflow.signal(name="cancel")
    def cancel(self) -> None:
        self.cancelled = True

    @workflow.run
    async def run(self, appointment_id: str, starts_at: str) -> str:
        """Waits until a day before the appointment and asks the portal to remind the
        citizen; nothing when it is cancelled first or booked less than a day ahead."""
        remind_at = datetime.fromisoformat(starts_at) - REMIND_BEFORE
        remaining = remind_at - workflow.now()
        if remaining.total_seconds() <= 0:
            return "zu kurzfristig"
        try:
            await workflow.wait_condition(lambda: self.cancelled, timeout=remaining)
            return "abgesagt"
        except TimeoutError:
            pass
        await workflow.execute_activity(
            "emit_case_event",
            EmitCommand(
                case_id=f"termin-{appointment_id}",
                step="reminder",
                kind="reminder",
                fields={"appointment_id": appointment_id, "starts_at": starts_at},
            ),
            start_to_close_timeout=timedelta(seconds=60),
        )
        return "erinnert"


@dataclass
class WiedervorlageInput:
    """A follow-up to time: ids and a day only, never its note."""

    wiedervorlage_id: str
    case_id: str
    day: str
    seconds: float  # until the day starts in Munich, scaled like every deadline


@workflow.defn(name="WiedervorlageWorkflow")
class WiedervorlageWorkflow:
    def __init__(self) -> None:
        self.cancelled = False

    @workflow.signal(name="cancel")
    def cancel(self) -> None:
        self.cancelled = True

    @workflow.run
    async def run(self, follow_up: WiedervorlageInput) -> str:
        """Waits until the follow-up's day and tells the E-Akte; nothing when it is lifted first."""
        try:
            await workflow.wait_condition(
                lambda: self.cancelled, timeout=timedelta(seconds=max(follow_up.seconds, 1.0))
            )
            return "aufgehoben"
        except TimeoutError:
            pass
        await workflow.execute_activity(
            "emit_case_event",
            EmitCommand(
                case_id=follow_up.case_id,
                step=f"wiedervorlage:{follow_up.wiedervorlage_id}",
                kind="wiedervorlage",
                fields={"wiedervorlage_id": follow_up.wiedervorlage_id, "day": follow_up.day},
            ),
            start_to_close_timeout=timedelta(seconds=60),
        )
        return "faellig"


@workflow.defn(name="ReconciliationWorkflow")
class ReconciliationWorkflow:
    @workflow.run
    async def run(self, day: str) -> int:
        """The provider's settlement of ``day`` (default: yesterday in Munich) reported to
        the E-Akte; a provider that is away is asked again for up to a day."""
        if not day:
            day = (workflow.now().astimezone(BERLIN).date() - timedelta(days=1)).isoformat()
        date.fromisoformat(day)  # a malformed day fails the run at once
        count: int = await workflow.execute_activity(
            "report_settlement",
            day,
            start_to_close_timeout=timedelta(seconds=120),
            schedule_to_close_timeout=timedelta(days=1),
            retry_policy=SETTLEMENT_RETRY,
            result_type=int,
        )
        return count
