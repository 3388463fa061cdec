"""Cases that were running before the two-way Postkorb replay with today's workflow code:
histories recorded with the code before ``workflow.patched("postkorb-1")`` (one decided and
delivered, one waiting for its decision after a reminder) replay without a determinism error."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from rathaus.platform.orchestration.workflow import CaseWorkflow

HISTORIES = Path(__file__).parents[1] / "integration" / "histories"


@pytest.mark.parametrize("name", ["case-decided-before-postkorb.json", "case-waiting-before-postkorb.json"])
async def test_a_case_started_before_postkorb_replays(name: str) -> None:
    history = WorkflowHistory.from_json(name.removesuffix(".json"), (HISTORIES / name).read_text())
    result = await Replayer(workflows=[CaseWorkflow]).replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
