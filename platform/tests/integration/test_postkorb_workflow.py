"""The case workflow and a Nachforderung on a real Temporal dev server, driven by real events
on NATS, deadlines of days scaled to seconds: the decision deadline rests while documents are
requested and runs on when the reply is filed; without a reply the applicant is reminded,
then staff are told to decide with what they have and the deadline runs on."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import nats
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.worker import Replayer

from rathaus.contracts import decode_event
from rathaus.contracts.common import BlobRef, Person
from rathaus.contracts.common_v2 import Party
from rathaus.contracts.eakte.v1 import CaseOpened, DocumentsRequested, ReplyFiled
from rathaus.contracts.eakte.v2 import DecisionMade
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.contracts.portal.v2 import ApplicationSubmitted
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.orchestration.bootstrap import bootstrap
from rathaus.platform.orchestration.workflow import CaseWorkflow
from rathaus.platform.testing import RunningServer, eventually, write_procedure

SERVICE = "nachforderung"
DAY_SECONDS = 2.0  # a day of the procedure's deadlines lasts two seconds here
PERSON = Person(given_name="Erika", family_name="Mustermann", birth_date="1964-08-12")
BLOB = BlobRef(sha256="0" * 64, key="output/sha256/00/x", size=1, media_type="application/pdf")


def now() -> str:
    return datetime.now(UTC).isoformat()


def munich_today_plus(days: int) -> str:
    return (datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=days)).isoformat()


class World:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.orchestration = Kernel("orchestration", settings)
        self.app = bootstrap(self.orchestration)
        self.portal, self.eakte, self.output = (Kernel(m, settings) for m in ("portal", "eakte", "output"))
        self.seen: list[tuple[str, str, dict[str, Any], float]] = []

    async def emit(self, kernel: Kernel, data: msgspec.Struct, case_id: str) -> None:
        async with kernel.transaction() as uow:
            await uow.emit(data, subject=case_id)  # type: ignore[arg-type]

    def of(self, case_id: str, kind: str) -> list[dict[str, Any]]:
        return [d for c, t, d, _ in self.seen if c == case_id and t == kind]

    def at(self, case_id: str, kind: str) -> float:
        """When the first event of a kind arrived (seconds since the epoch)."""
        return next(a for c, t, _, a in self.seen if c == case_id and t == kind)

    async def first(self, case_id: str, kind: str, **match: Any) -> dict[str, Any]:
        def found() -> list[dict[str, Any]]:
            return [d for d in self.of(case_id, kind) if all(d.get(k) == v for k, v in match.items())]

        async def there() -> bool:
            return bool(found())

        await eventually(there, timeout=60)
        return found()[0]


@contextlib.asynccontextmanager
async def running(settings: Settings, temporal: RunningServer, tmp_path: Path) -> AsyncIterator[World]:
    settings.temporal.address = temporal.url
    settings.temporal.task_queue = f"cases-{uuid.uuid4().hex[:8]}"
    settings.deadline_scale = DAY_SECONDS / 86400
    write_procedure(
        tmp_path / "leistungen", SERVICE, decision='mode = "clerk"\nreminder_days = 1\nescalation_days = 60'
    )
    settings.procedure_dirs = [tmp_path / "leistungen"]
    w = World(settings)
    for kernel in (w.portal, w.eakte, w.output):
        await kernel.start(ModuleApp())
    await w.orchestration.start(w.app)
    nc = await nats.connect(settings.nats.url)

    async def collect(msg: nats.aio.msg.Msg) -> None:
        event = decode_event(msg.data)
        kind = event.type.split(".", 3)[3]
        w.seen.append(
            (event.subject or "", kind, msgspec.json.decode(event.data), datetime.now(UTC).timestamp())
        )

    await nc.subscribe("rathaus.platform.>", cb=collect)
    try:
        yield w
    finally:
        await nc.close()
        await w.orchestration.stop(w.app)
        for kernel in (w.portal, w.eakte, w.output):
            await kernel.stop(ModuleApp())


@pytest.fixture
async def world(settings: Settings, temporal: RunningServer, tmp_path: Path) -> AsyncIterator[World]:
    async with running(settings, temporal, tmp_path) as w:
        yield w


async def case_for_decision(world: World) -> tuple[str, dict[str, Any]]:
    """A case of the test service waiting for its decision; the decision request."""
    case_id = str(uuid.uuid4())
    await world.emit(
        world.portal,
        ApplicationSubmitted(
            case_id=case_id,
            service_id=SERVICE,
            service_version=1,
            procedure_digest="",
            applicant=Party(person=PERSON, email="erika@example.org", account_id="acc-1"),
            data={"betreff": "Test"},
            submitted_at=now(),
        ),
        case_id,
    )
    opened = CaseOpened(
        case_id=case_id,
        aktenzeichen="523.11-2026-000077",
        service_id=SERVICE,
        unit="KVR-III/12",
        opened_at=now(),
    )
    await world.emit(world.eakte, opened, case_id)
    return case_id, await world.first(case_id, "decision.requested.v1")


async def request_documents(world: World, case_id: str, deadline: str, grace_days: float) -> str:
    request_id = str(uuid.uuid4())
    await world.emit(
        world.eakte,
        DocumentsRequested(
            case_id=case_id,
            request_id=request_id,
            service_id=SERVICE,
            unit="KVR-III/12",
            count=1,
            deadline=deadline,
            grace_days=grace_days,
            requested_at=now(),
        ),
        case_id,
    )
    return request_id


async def decide_and_deliver(world: World, case_id: str) -> str:
    await world.emit(
        world.eakte,
        DecisionMade(
            case_id=case_id,
            aktenzeichen="523.11-2026-000077",
            service_id=SERVICE,
            service_version=1,
            procedure_digest="",
            outcome="granted",
            reasons="Test.",
            recipient=Party(person=PERSON, email="erika@example.org", account_id="acc-1"),
            data={},
            facts={},
            unit="KVR-III/12",
            decided_by="s1",
            decided_at=now(),
        ),
        case_id,
    )
    await world.first(case_id, "delivery.requested.v1")
    delivered = DecisionDelivered(
        case_id=case_id,
        aktenzeichen="523.11-2026-000077",
        service_id=SERVICE,
        outcome="granted",
        document=BLOB,
        channel="postkorb",
        sent_at=now(),
        bekanntgabe=date.today().isoformat(),
    )
    await world.emit(world.output, delivered, case_id)
    client = await Client.connect(
        world.settings.temporal.address, namespace=world.settings.temporal.namespace
    )
    handle = client.get_workflow_handle(case_id)

    async def completed() -> bool:
        try:
            return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
        except RPCError:
            return False

    await eventually(completed, timeout=60)
    result: str = await handle.result()
    # the history of a case with a Nachforderung replays with the same code (determinism)
    replayed = await Replayer(workflows=[CaseWorkflow]).replay_workflow(await handle.fetch_history())
    assert replayed.replay_failure is None
    return result


async def test_the_decision_deadline_rests_until_the_reply_is_filed(world: World) -> None:
    case_id, asked = await case_for_decision(world)
    # the Nachforderung's deadline (three days and more) lies after the decision's (one day):
    # a deadline that did not rest would fall due before the applicant is reminded
    request_id = await request_documents(world, case_id, munich_today_plus(3), grace_days=30)
    resting = await world.first(case_id, "decision.deadline-changed.v1", paused=True)
    assert resting["due_at"] == "" and resting["unit"] == "KVR-III/12"
    reminder = await world.first(case_id, "documents.overdue.v1", level=1)
    assert reminder == {
        "case_id": case_id,
        "request_id": request_id,
        "unit": "KVR-III/12",
        "level": 1,
        "deadline": munich_today_plus(3),
    }
    assert world.of(case_id, "decision.overdue.v1") == []  # the deadline rested

    await world.emit(
        world.eakte,
        ReplyFiled(
            case_id=case_id,
            reply_id=str(uuid.uuid4()),
            request_id=request_id,
            documents_filed=1,
            requested=1,
            complete=True,
            filed_at=now(),
        ),
        case_id,
    )
    running = await world.first(case_id, "decision.deadline-changed.v1", paused=False)
    rested = datetime.fromisoformat(running["due_at"]) - datetime.fromisoformat(asked["due_at"])
    assert rested.total_seconds() >= 3 * DAY_SECONDS - 1  # moved by the rest, at least three days
    overdue = await world.first(case_id, "decision.overdue.v1", level=1)
    assert overdue["due_at"] == running["due_at"]
    assert (
        world.at(case_id, "decision.overdue.v1")
        >= datetime.fromisoformat(running["due_at"]).timestamp() - 0.5
    )
    assert await decide_and_deliver(world, case_id) == "granted"
    assert [d["level"] for d in world.of(case_id, "documents.overdue.v1")] == [1]  # answered: no level 2


async def test_without_a_reply_the_applicant_is_reminded_then_staff_decide_with_what_they_have(
    world: World,
) -> None:
    case_id, _ = await case_for_decision(world)
    request_id = await request_documents(world, case_id, munich_today_plus(1), grace_days=1)
    await world.first(case_id, "decision.deadline-changed.v1", paused=True)
    first = await world.first(case_id, "documents.overdue.v1", level=1)
    second = await world.first(case_id, "documents.overdue.v1", level=2)
    assert first["request_id"] == second["request_id"] == request_id
    times = [a for c, t, _, a in world.seen if c == case_id and t == "documents.overdue.v1"]
    assert times[1] - times[0] >= DAY_SECONDS - 0.5  # the grace period of one day lies between
    await world.first(case_id, "decision.deadline-changed.v1", paused=False)  # staff decide now
    await world.first(case_id, "decision.overdue.v1", level=1)  # and the deadline runs again
    assert await decide_and_deliver(world, case_id) == "granted"
