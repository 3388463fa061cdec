"""The case workflow on a real Temporal dev server, driven by real events on NATS."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import nats
import pytest

from rathaus.contracts import decode_event
from rathaus.contracts.common import Address, BlobRef, Person
from rathaus.contracts.common_v2 import Party
from rathaus.contracts.eakte.v1 import CaseOpened, ClaimCreated, DecisionMade, DocumentFiled, Recipient
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.contracts.portal.v1 import Applicant, ApplicationSubmitted, Attachment
from rathaus.contracts.portal.v2 import ApplicationSubmitted as ApplicationSubmittedV2
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.orchestration.bootstrap import bootstrap
from rathaus.platform.runtime.payprovider import TestPaymentProvider, use_test_provider
from rathaus.platform.runtime.payprovider.controls import AutoPayer
from rathaus.platform.runtime.processes import free_port
from rathaus.platform.testing import RunningServer, eventually, record_histories, write_procedure

NOW = datetime.now(UTC).isoformat()
BLOB = BlobRef(sha256="0" * 64, key="portal/sha256/00/x", size=1, media_type="application/pdf")
PERSON = Person(given_name="Erika", family_name="Mustermann", birth_date="1964-08-12")


def submitted(case_id: str) -> ApplicationSubmitted:
    return ApplicationSubmitted(
        case_id=case_id,
        service_id="bewohnerparkausweis",
        account_id="acc-1",
        applicant=Applicant(
            person=PERSON,
            address=Address(street="Zenettistraße", house_number="12", postal_code="80337"),
            email="erika@example.org",
        ),
        form={"kennzeichen": "M-EM 1964"},
        attachments=[Attachment(kind="fahrzeugschein", blob=BLOB)],
        submitted_at=NOW,
    )


class World:
    """The orchestration plus stand-ins for the modules whose events drive it."""

    def __init__(self, settings: Settings) -> None:
        self.orchestration = Kernel("orchestration", settings)
        self.app = bootstrap(self.orchestration)
        self.portal, self.eakte, self.output = (Kernel(m, settings) for m in ("portal", "eakte", "output"))
        self.seen: list[tuple[str, str, dict[str, object]]] = []

    async def emit(self, kernel: Kernel, data: msgspec.Struct, case_id: str) -> None:
        async with kernel.transaction() as uow:
            await uow.emit(data, subject=case_id)  # type: ignore[arg-type]

    def of(self, case_id: str) -> list[tuple[str, dict[str, object]]]:
        return [(t, d) for c, t, d in self.seen if c == case_id]


@contextlib.asynccontextmanager
async def running(settings: Settings, temporal: RunningServer) -> AsyncIterator[World]:
    """The orchestration on its own task queue, deadlines of days scaled to fractions of a second."""
    settings.temporal.address = temporal.url
    settings.temporal.task_queue = f"cases-{uuid.uuid4().hex[:8]}"
    settings.deadline_scale = 0.5 / 432000  # the 5-day deadline becomes half a second
    settings.payment.attempt_hours = 300 / 3600  # five minutes
    provider = TestPaymentProvider(
        settings.data_dir / "anbieter",
        free_port(),
        [(settings.payment.originator_id, settings.payment.endpoint_id)],
    )
    provider.start()
    use_test_provider(settings, provider)
    settings.payment.user, settings.payment.password = provider.user, provider.password
    payer = AutoPayer({"servers": settings.nats.url})  # the Bewohnerparkausweis' fee
    w = World(settings)
    for kernel in (w.portal, w.eakte, w.output):
        await kernel.start(ModuleApp())
    await w.orchestration.start(w.app)
    nc = await nats.connect(settings.nats.url)

    async def collect(msg: nats.aio.msg.Msg) -> None:
        event = decode_event(msg.data)
        w.seen.append((event.subject or "", event.type.split(".", 3)[3], msgspec.json.decode(event.data)))

    await nc.subscribe("rathaus.platform.>", cb=collect)
    await payer.start()
    try:
        yield w
    finally:
        await payer.stop()
        provider.stop()
        await nc.close()
        await record_histories(settings.temporal.address, settings.temporal.task_queue)
        await w.orchestration.stop(w.app)
        for kernel in (w.portal, w.eakte, w.output):
            await kernel.stop(ModuleApp())


@pytest.fixture
async def world(settings: Settings, temporal: RunningServer) -> AsyncIterator[World]:
    async with running(settings, temporal) as w:
        yield w


async def test_a_case_runs_from_submission_to_delivery_with_reminder_and_escalation(world: World) -> None:
    case_id = str(uuid.uuid4())
    await world.emit(world.portal, submitted(case_id), case_id)
    await world.emit(
        world.eakte,
        CaseOpened(
            case_id=case_id,
            aktenzeichen="523.11-2026-000001",
            service_id="bewohnerparkausweis",
            unit="KVR-III/12",
            opened_at=NOW,
        ),
        case_id,
    )
    await world.emit(
        world.eakte,
        DocumentFiled(
            case_id=case_id,
            aktenzeichen="523.11-2026-000001",
            document_id="d1",
            document_type="fahrzeugschein",
            sha256="0" * 64,
            version=1,
            filed_at=NOW,
        ),
        case_id,
    )

    async def escalated() -> bool:
        return any(t == "decision.overdue.v1" and d["level"] == 2 for t, d in world.of(case_id))

    await eventually(escalated, timeout=30)
    recipient = Recipient(
        person=PERSON,
        address=Address(street="Zenettistraße", house_number="12", postal_code="80337"),
        email="erika@example.org",
    )
    await world.emit(
        world.eakte,
        DecisionMade(
            case_id=case_id,
            aktenzeichen="523.11-2026-000001",
            service_id="bewohnerparkausweis",
            outcome="granted",
            reasons="Voraussetzungen erfüllt.",
            recipient=recipient,
            facts={},
            unit="KVR-III/12",
            decided_by="s1",
            decided_at=NOW,
        ),
        case_id,
    )

    # the fee is due after the grant: the E-Akte's Forderung, paid at once by the citizen
    await world.emit(
        world.eakte,
        ClaimCreated(
            case_id=case_id,
            claim_id=str(uuid.uuid4()),
            kassenzeichen="KZ0000000017",
            amount_cents=3000,
            payment="after_decision",
            purpose="Gebühr KZ0000000017",
            description="Bewohnerparkausweis 523.11-2026-000001",
            lines=[],
            service_id="bewohnerparkausweis",
            created_at=NOW,
        ),
        case_id,
    )

    async def delivery_requested() -> bool:
        return any(t == "delivery.requested.v1" for t, _ in world.of(case_id))

    await eventually(delivery_requested, timeout=30)
    await world.emit(
        world.output,
        DecisionDelivered(
            case_id=case_id,
            aktenzeichen="523.11-2026-000001",
            service_id="bewohnerparkausweis",
            outcome="granted",
            document=BLOB,
            channel="postkorb",
            sent_at=NOW,
            bekanntgabe="2026-11-25",
        ),
        case_id,
    )

    async def delivered() -> bool:
        return ("case.status-changed.v1", "zugestellt") in [
            (t, d.get("status")) for t, d in world.of(case_id)
        ]

    await eventually(delivered, timeout=30)
    kinds = [(t, d.get("status") or d.get("level") or "") for t, d in world.of(case_id)]
    assert kinds == [
        ("case.status-changed.v1", "eingegangen"),
        ("case.status-changed.v1", "in_pruefung"),
        ("decision.requested.v1", ""),
        ("case.status-changed.v1", "zur_entscheidung"),
        ("decision.overdue.v1", 1),
        ("decision.overdue.v1", 2),
        ("case.status-changed.v1", "entschieden"),
        ("payment.requested.v1", ""),
        ("payment.completed.v1", ""),
        ("delivery.requested.v1", ""),
        ("case.status-changed.v1", "zugestellt"),
    ]
    deliver = next(d for t, d in world.of(case_id) if t == "delivery.requested.v1")
    assert deliver == {
        "case_id": case_id,
        "channel": "postkorb",
        "template": "bewohnerparkausweis@1/bescheid_erteilt.html",
    }
    assert world.orchestration.consumer.dead_lettered == 0


async def test_events_in_any_order_start_the_same_workflow_once(world: World) -> None:
    case_id = str(uuid.uuid4())
    # the E-Akte's event overtakes the portal's: the workflow starts from it and waits
    await world.emit(
        world.eakte,
        CaseOpened(
            case_id=case_id,
            aktenzeichen="523.11-2026-000002",
            service_id="bewohnerparkausweis",
            unit="KVR-III/12",
            opened_at=NOW,
        ),
        case_id,
    )
    await asyncio.sleep(0)  # no timing assumption: the next line may run before or after it arrives
    await world.emit(world.portal, submitted(case_id), case_id)

    async def in_pruefung() -> bool:
        return ("case.status-changed.v1", "in_pruefung") in [
            (t, d.get("status")) for t, d in world.of(case_id)
        ]

    await eventually(in_pruefung, timeout=30)
    statuses = [d.get("status") for t, d in world.of(case_id) if t == "case.status-changed.v1"]
    assert statuses == ["eingegangen", "in_pruefung"]


def submitted_v2(case_id: str, service_id: str) -> ApplicationSubmittedV2:
    return ApplicationSubmittedV2(
        case_id=case_id,
        service_id=service_id,
        service_version=1,
        procedure_digest="",
        applicant=Party(person=PERSON, email="erika@example.org", account_id="acc-1"),
        data={"betreff": "Test"},
        submitted_at=NOW,
    )


async def test_an_automatic_procedure_asks_for_an_automatic_decision_and_a_fiction_falls_due(
    settings: Settings, temporal: RunningServer, tmp_path: Path
) -> None:
    write_procedure(tmp_path / "leistungen", "automatisch", decision='mode = "automatic"')
    write_procedure(
        tmp_path / "leistungen",
        "fiktion",
        decision='reminder_days = 5\nescalation_days = 5\nfiction_days = 7\nfiction_basis = "§ 42a VwVfG"',
    )
    settings.procedure_dirs = [tmp_path / "leistungen"]
    async with running(settings, temporal) as world:
        automatic, fiction = str(uuid.uuid4()), str(uuid.uuid4())
        for case_id, service in ((automatic, "automatisch"), (fiction, "fiktion")):
            await world.emit(world.portal, submitted_v2(case_id, service), case_id)
            opened = CaseOpened(
                case_id=case_id,
                aktenzeichen=f"523.11-2026-{case_id[:6]}",
                service_id=service,
                unit="KVR-III/12",
                opened_at=NOW,
            )
            await world.emit(world.eakte, opened, case_id)

        async def both() -> bool:
            return any(t == "decision.requested.v1" for t, _ in world.of(automatic)) and any(
                t == "fiction.reached.v1" for t, _ in world.of(fiction)
            )

        await eventually(both, timeout=30)
        request = next(d for t, d in world.of(automatic) if t == "decision.requested.v1")
        assert request["mode"] == "automatic"
        kinds = [(t, d.get("level", "")) for t, d in world.of(fiction) if t != "case.status-changed.v1"]
        # the reminder (5 days), the fiction (7 days), then the escalation would be at 10
        assert kinds[:3] == [
            ("decision.requested.v1", ""),
            ("decision.overdue.v1", 1),
            ("fiction.reached.v1", ""),
        ]
        reached = next(d for t, d in world.of(fiction) if t == "fiction.reached.v1")
        assert reached["basis"] == "§ 42a VwVfG" and reached["unit"] == "KVR-III/12"
