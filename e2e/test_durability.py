"""Nothing lost, nothing applied twice: the embedded platform is SIGKILLed while cases
flow and started again on the same data dir."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import msgspec
import nats
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy
from temporalio.client import Client

from e2e.faults.checks import ModuleDatabases
from rathaus.platform.bench.bus import application
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.settings import NatsSettings
from rathaus.platform.testing import EmbeddedPlatform, eventually

pytestmark = pytest.mark.e2e
CASES = 30


async def statuses(platform: EmbeddedPlatform) -> Counter[tuple[str, str]]:
    """(case, status) -> how often the platform's stream holds that status event."""
    subject = "rathaus.platform.case.status-changed.v1"
    nc = await nats.connect(**platform.nats_credentials(), allow_reconnect=False, connect_timeout=5)
    seen: Counter[tuple[str, str]] = Counter()
    try:
        js = nc.jetstream(timeout=10)
        info = await js.stream_info("RATHAUS_PLATFORM", subjects_filter=subject)
        remaining = (info.state.subjects or {}).get(subject, 0)
        if remaining:
            sub = await js.pull_subscribe(
                subject,
                stream="RATHAUS_PLATFORM",
                config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, inactive_threshold=30),
            )
            while remaining > 0:
                batch = await sub.fetch(min(remaining, 256), timeout=10)
                for msg in batch:
                    event = msgspec.json.decode(msg.data)
                    seen[(event["subject"], event["data"]["status"])] += 1
                remaining -= len(batch)
            await sub.unsubscribe()
    finally:
        await nc.close()
    return seen


async def received(platform: EmbeddedPlatform) -> set[str] | None:
    """Cases with status 'eingegangen'; None while the restarted platform does not answer yet."""
    try:
        return {c for c, s in await statuses(platform) if s == "eingegangen"}
    except (OSError, nats.errors.Error, TimeoutError):
        return None


async def submit(platform: EmbeddedPlatform, producer_dir: Path, case_ids: list[str]) -> None:
    """A producer outside the platform publishes applications through its own outbox."""
    creds = platform.nats_credentials()
    settings = Settings(
        data_dir=producer_dir,
        nats=NatsSettings(url=",".join(creds["servers"]), user=creds["user"], password=creds["password"]),
        secret_key="producer-secret-producer-secret-00",
    )
    producer = Kernel("portal", settings)
    await producer.start(ModuleApp())
    for case_id in case_ids:
        async with producer.transaction() as uow:
            await uow.emit(application(case_id), subject=case_id)

    async def all_published() -> bool:
        return (await producer.outbox_storage.stats()).pending == 0

    await eventually(all_published)
    await producer.stop(ModuleApp())


async def test_sigkill_loses_nothing_and_applies_nothing_twice(tmp_path: Path) -> None:
    platform = EmbeddedPlatform(tmp_path / "rathaus")
    platform.start()
    try:
        cases = [str(uuid.uuid4()) for _ in range(CASES)]
        await submit(platform, tmp_path / "producer", cases[: CASES // 2])

        async def some_received() -> bool:
            return len(await received(platform) or ()) >= 3

        await eventually(some_received, timeout=60, interval=0.5)
        platform.kill()  # SIGKILL: the platform and, with it, its servers
        platform.start()  # same data dir
        await submit(platform, tmp_path / "producer", cases[CASES // 2 :])

        async def all_received() -> bool:
            return (await received(platform) or set()) >= set(cases)

        await eventually(all_received, timeout=180, interval=0.5)
        counts = await statuses(platform)
        assert all(counts[(c, "eingegangen")] == 1 for c in cases), counts
        # each consumed event was applied once by the orchestration
        rows = await ModuleDatabases(platform.data_dir, platform.postgres).rows(
            "orchestration", "select event_id, count(*) from rathaus_processed group by event_id"
        )
        assert len(rows) >= CASES and all(n == 1 for _, n in rows)
        # one workflow per case, never a second run
        temporal = await Client.connect(f"127.0.0.1:{platform.temporal_port}")
        runs: Counter[str] = Counter()
        async for wf in temporal.list_workflows("WorkflowType='CaseWorkflow'"):
            runs[wf.id] += 1
        assert set(runs) == set(cases) and set(runs.values()) == {1}
        print(
            f"checked {len(cases)} cases: one status 'eingegangen' each, {len(rows)} events applied once, "
            f"{len(runs)} workflows with one run each"
        )
    finally:
        platform.stop()
