"""The ceiling: a bare Temporal workflow with the steps of a Rathaus case, nothing else.

A Bewohnerparkausweis case (``CaseWorkflow``) takes 5 signals (submitted, case opened,
document filed, decision made, decision delivered), runs 7 activities (five status
events, the decision request, the delivery command) and sets 2 timers (the grace for
missing documents and the decision deadline; both are cancelled when the awaited signal
comes). This workflow does the same on the same dev server, with activities that do
nothing but, where a Rathaus module would react to the emitted command, signal the next
step back through the Temporal frontend as the signal bridge does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

TASK_QUEUE = "rathaus-bench-ceiling"
LONG = timedelta(hours=1)


@dataclass
class Step:
    workflow_id: str
    name: str
    then_signal: int = 0  # the signal a module's reaction would cause, 0 = none


class Signaller:
    client: Client | None = None


@activity.defn(name="bench_emit")
async def emit(step: Step) -> None:
    if step.then_signal and Signaller.client is not None:
        handle = Signaller.client.get_workflow_handle(step.workflow_id)
        await handle.signal("event", step.then_signal)


@workflow.defn(name="BenchCeilingWorkflow")
class CeilingWorkflow:
    def __init__(self) -> None:
        self.received = 0

    @workflow.signal(name="event")
    def on_event(self, number: int) -> None:
        self.received = max(self.received, number)

    async def _emit(self, wid: str, name: str, then_signal: int = 0) -> None:
        await workflow.execute_activity(
            emit, Step(wid, name, then_signal), start_to_close_timeout=timedelta(seconds=60)
        )

    @workflow.run
    async def run(self) -> str:
        wid = workflow.info().workflow_id
        await workflow.wait_condition(lambda: self.received >= 1)  # signal 1: submitted
        await self._emit(wid, "status-eingegangen", then_signal=2)  # activity 1 -> case opened
        await workflow.wait_condition(lambda: self.received >= 2)  # signal 2
        await self._emit(wid, "status-in_pruefung", then_signal=3)  # activity 2 -> document filed
        with contextlib.suppress(TimeoutError):  # timer 1: the grace for missing documents
            await workflow.wait_condition(lambda: self.received >= 3, timeout=LONG)  # signal 3
        await self._emit(wid, "request_decision", then_signal=4)  # activity 3 -> decision made
        await self._emit(wid, "status-zur_entscheidung")  # activity 4
        with contextlib.suppress(TimeoutError):  # timer 2: the decision deadline
            await workflow.wait_condition(lambda: self.received >= 4, timeout=LONG)  # signal 4
        await self._emit(wid, "status-entschieden")  # activity 5
        await self._emit(wid, "deliver", then_signal=5)  # activity 6 -> delivered
        await workflow.wait_condition(lambda: self.received >= 5)  # signal 5
        await self._emit(wid, "status-zugestellt")  # activity 7
        return "granted"


@dataclass
class CeilingResult:
    in_flight: int
    seconds: float
    completed: int
    latencies: list[float] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0


async def run(address: str, namespace: str, *, seconds: float, in_flight: int) -> CeilingResult:
    """Keep ``in_flight`` workflows running for ``seconds``; count the ones that complete."""
    client = await Client.connect(address, namespace=namespace)
    Signaller.client = client
    result = CeilingResult(in_flight, seconds, 0)
    worker = Worker(client, task_queue=TASK_QUEUE, workflows=[CeilingWorkflow], activities=[emit])
    async with worker:
        deadline = time.monotonic() + seconds

        async def one_after_another() -> None:
            while time.monotonic() < deadline:
                started = time.monotonic()
                handle = await client.start_workflow(
                    CeilingWorkflow.run,
                    id=f"bench-ceiling-{uuid.uuid4()}",
                    task_queue=TASK_QUEUE,
                    start_signal="event",
                    start_signal_args=[1],
                )
                await handle.result()
                if time.monotonic() <= deadline:
                    result.completed += 1
                    result.latencies.append(time.monotonic() - started)

        await asyncio.gather(*(one_after_another() for _ in range(in_flight)))
    Signaller.client = None
    return result
