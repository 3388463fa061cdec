"""Composition root of the case orchestration: the bridge, the Temporal client and worker."""

from __future__ import annotations

import asyncio
import contextlib

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleSpec,
)
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.worker import Worker

from rathaus.platform.kernel import Kernel, ModuleApp
from rathaus.platform.orchestration.activities import CaseActivities
from rathaus.platform.orchestration.aussonderung import AUSSONDERUNG_AT, AussonderungWorkflow
from rathaus.platform.orchestration.aussonderung import SCHEDULE_ID as AUSSONDERUNG_SCHEDULE
from rathaus.platform.orchestration.bridge import Bridge
from rathaus.platform.orchestration.payments import PaymentActivities
from rathaus.platform.orchestration.timers import (
    SCHEDULE_ID,
    AppointmentWorkflow,
    ReconciliationWorkflow,
    WiedervorlageWorkflow,
)
from rathaus.platform.orchestration.workflow import CaseWorkflow

RECONCILE_AT = "30 2 * * *"  # every night at 02:30 Munich time, for the day before


async def ensure_schedule(client: Client, task_queue: str) -> None:
    """The nightly schedules (reconciliation, Aussonderung), created once per Temporal namespace."""
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(
            SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    "ReconciliationWorkflow", "", id="zahlungsabgleich", task_queue=task_queue
                ),
                spec=ScheduleSpec(cron_expressions=[RECONCILE_AT], time_zone_name="Europe/Berlin"),
            ),
        )
    # the nightly Aussonderung: files whose retention ended are offered to the archive
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(
            AUSSONDERUNG_SCHEDULE,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    "AussonderungWorkflow",
                    args=["", "", "zeitplan"],
                    id="aussonderung",
                    task_queue=task_queue,
                ),
                spec=ScheduleSpec(cron_expressions=[AUSSONDERUNG_AT], time_zone_name="Europe/Berlin"),
            ),
        )


def bootstrap(kernel: Kernel) -> ModuleApp:
    bridge = Bridge(kernel)
    activities = CaseActivities(kernel)
    payments = PaymentActivities(kernel)
    state: dict[str, object] = {}

    async def connect() -> None:
        settings = kernel.settings.temporal
        client = await Client.connect(
            settings.address,
            namespace=settings.namespace,
            interceptors=[TracingInterceptor(kernel.tracer)],
        )
        bridge.client = client
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[
                CaseWorkflow,
                AppointmentWorkflow,
                ReconciliationWorkflow,
                WiedervorlageWorkflow,
                AussonderungWorkflow,
            ],
            activities=[
                activities.emit_case_event,
                payments.start_payment,
                payments.payment_status,
                payments.report_settlement,
            ],
            max_concurrent_activities=50,
        )
        state["worker"] = worker
        state["task"] = asyncio.create_task(worker.run(), name="temporal-worker")
        await ensure_schedule(client, settings.task_queue)

    async def disconnect() -> None:
        worker = state.get("worker")
        if isinstance(worker, Worker):
            await worker.shutdown()
        task = state.get("task")
        if isinstance(task, asyncio.Task):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await payments.close()

    async def temporal_ok() -> bool:
        task = state.get("task")
        return isinstance(task, asyncio.Task) and not task.done()

    return ModuleApp(on_start=[connect], on_stop=[disconnect], health={"worker_running": temporal_ok})
