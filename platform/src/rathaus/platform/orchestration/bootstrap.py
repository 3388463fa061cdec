"""Composition root of the case orchestration: the bridge, the Temporal client and worker."""

from __future__ import annotations

import asyncio
import contextlib

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.worker import Worker

from rathaus.platform.kernel import Kernel, ModuleApp
from rathaus.platform.orchestration.activities import CaseActivities
from rathaus.platform.orchestration.bridge import Bridge
from rathaus.platform.orchestration.workflow import CaseWorkflow


def bootstrap(kernel: Kernel) -> ModuleApp:
    bridge = Bridge(kernel)
    activities = CaseActivities(kernel)
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
            workflows=[CaseWorkflow],
            activities=[activities.emit_case_event],
            max_concurrent_activities=50,
        )
        state["worker"] = worker
        state["task"] = asyncio.create_task(worker.run(), name="temporal-worker")

    async def disconnect() -> None:
        worker = state.get("worker")
        if isinstance(worker, Worker):
            await worker.shutdown()
        task = state.get("task")
        if isinstance(task, asyncio.Task):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def temporal_ok() -> bool:
        task = state.get("task")
        return isinstance(task, asyncio.Task) and not task.done()

    return ModuleApp(on_start=[connect], on_stop=[disconnect], health={"worker_running": temporal_ok})
