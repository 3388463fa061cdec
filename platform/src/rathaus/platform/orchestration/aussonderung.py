"""The Aussonderung's start when retention ends: a Temporal schedule runs this workflow every
night (or ``rathaus aussonderung`` now); it tells the E-Akte, through the contract event
``AussonderungDue``, to offer the files whose Aufbewahrungsende has passed to the archive.
The exchange with the archive itself is the E-Akte's (xdomea 0501–0507)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from rathaus.platform.orchestration.model import EmitCommand
    from rathaus.platform.orchestration.timers import BERLIN

SCHEDULE_ID = "rathaus-aussonderung"
AUSSONDERUNG_AT = "15 3 * * *"  # every night at 03:15 Munich time


@workflow.defn(name="AussonderungWorkflow")
class AussonderungWorkflow:
    @workflow.run
    async def run(self, archive: str, verfahren: str, trigger: str) -> str:
        """Emit ``AussonderungDue`` for today (Munich); returns the day."""
        day = workflow.now().astimezone(BERLIN).date().isoformat()
        await workflow.execute_activity(
            "emit_case_event",
            EmitCommand(
                case_id=f"aussonderung-{day}",
                step=workflow.info().workflow_id,
                kind="aussonderung_due",
                fields={
                    "day": day,
                    "archive": archive,
                    "verfahren": verfahren,
                    "trigger": trigger or "zeitplan",
                },
            ),
            start_to_close_timeout=timedelta(seconds=60),
        )
        return day
