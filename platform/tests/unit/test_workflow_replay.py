"""Long-running cases survive new code: the recorded histories of cases (platform/tests/
histories, one or more per service path, recorded by the integration tests with
``RATHAUS_RECORD_HISTORIES``; see rathaus.platform.testing.record_histories) are replayed
against the current workflow code with Temporal's Replayer. A change in behaviour that is
not behind ``workflow.patched`` makes a replay fail, and with it the build; the second
test shows that it does, with a workflow changed on purpose."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from rathaus.platform.orchestration.timers import AppointmentWorkflow, ReconciliationWorkflow
from rathaus.platform.orchestration.workflow import CaseWorkflow

HISTORIES = Path(__file__).parents[1] / "histories"


async def each(items: list[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for item in items:
        yield item


def histories() -> list[WorkflowHistory]:
    out = []
    for path in sorted(HISTORIES.rglob("*.json")):
        workflow_id = f"{path.parent.name}/{path.stem}"  # when recorded, which test, which workflow type
        out.append(WorkflowHistory.from_json(workflow_id, path.read_text(encoding="utf-8")))
    return out


def test_there_are_histories_of_every_workflow_type() -> None:
    kinds = {path.stem.rsplit("-", 2)[1] for path in HISTORIES.rglob("*.json")}
    assert kinds == {"CaseWorkflow", "AppointmentWorkflow", "ReconciliationWorkflow"}


async def test_every_recorded_case_replays_on_the_current_code() -> None:
    replayer = Replayer(workflows=[CaseWorkflow, AppointmentWorkflow, ReconciliationWorkflow])
    results = await replayer.replay_workflows(each(histories()), raise_on_replay_failure=False)
    failed = {run_id: str(error) for run_id, error in results.replay_failures.items()}
    assert not failed, f"workflow code no longer replays recorded cases: {failed}"


@workflow.defn(name="CaseWorkflow", sandboxed=False)
class UnguardedChange(CaseWorkflow):
    """What a careless change looks like: a new timer before everything else, without
    ``workflow.patched``. A case started before it would take another path on replay."""

    @workflow.run
    async def run(self, case_id: str) -> str:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(case_id)


async def test_an_unguarded_change_fails_the_replay() -> None:
    cases = [h for h in histories() if "-CaseWorkflow-" in h.workflow_id]
    assert cases
    replayer = Replayer(workflows=[UnguardedChange])
    results = await replayer.replay_workflows(each(cases), raise_on_replay_failure=False)
    assert len(results.replay_failures) == len(cases)
    assert all("nondetermin" in str(e).lower() for e in results.replay_failures.values())
    with pytest.raises(Exception, match=r"(?i)nondetermin"):
        await replayer.replay_workflow(cases[0])
