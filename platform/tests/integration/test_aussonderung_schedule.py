"""The Aussonderung's trigger on a real Temporal dev server: the nightly schedule exists, and
the workflow (what the schedule and ``rathaus aussonderung`` start) emits the contract
event ``AussonderungDue`` the E-Akte consumes — once, however often its activity runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import nats
from temporalio.client import Client, ScheduleActionStartWorkflow

from rathaus.contracts import decode_event
from rathaus.platform.kernel import Kernel, Settings
from rathaus.platform.orchestration.aussonderung import AUSSONDERUNG_AT, SCHEDULE_ID
from rathaus.platform.orchestration.bootstrap import bootstrap
from rathaus.platform.testing import RunningServer, eventually, record_histories


async def test_the_schedule_exists_and_the_workflow_tells_the_eakte_once(
    settings: Settings, temporal: RunningServer
) -> None:
    settings.temporal.address = temporal.url
    settings.temporal.task_queue = f"aussonderung-{uuid.uuid4().hex[:8]}"
    orchestration = Kernel("orchestration", settings)
    app = bootstrap(orchestration)
    await orchestration.start(app)
    seen: list[dict[str, Any]] = []
    nc = await nats.connect(settings.nats.url)

    async def collect(msg: Any) -> None:
        event = decode_event(msg.data)
        if event.type.endswith("aussonderung.due.v1"):
            seen.append(msgspec.json.decode(event.data))

    await nc.subscribe("rathaus.platform.>", cb=collect)
    try:
        client = await Client.connect(settings.temporal.address, namespace=settings.temporal.namespace)
        schedule = await client.get_schedule_handle(SCHEDULE_ID).describe()
        action = schedule.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "AussonderungWorkflow"
        spec = schedule.schedule.spec  # Temporal keeps the cron expression as a calendar
        assert AUSSONDERUNG_AT in spec.cron_expressions or [
            (c.hour[0].start, c.minute[0].start) for c in spec.calendars
        ] == [(3, 15)]
        day = await client.execute_workflow(
            "AussonderungWorkflow",
            args=["stadtarchiv", "vierstufig", "befehl"],
            id=f"aussonderung-test-{uuid.uuid4().hex[:6]}",
            task_queue=settings.temporal.task_queue,
            result_type=str,
        )
        assert day == datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()

        async def emitted() -> bool:
            return bool(seen)

        await eventually(emitted, timeout=30)
        assert seen == [
            {"day": day, "archive": "stadtarchiv", "verfahren": "vierstufig", "trigger": "befehl"}
        ]
    finally:
        await nc.close()
        await record_histories(settings.temporal.address, settings.temporal.task_queue)
        await orchestration.stop(app)
