"""The case workflow's payment step on a real Temporal dev server and the test payment
provider over HTTP: paid before processing, failed and started again, abandoned and paid
late, a provider outage during the status poll, refused after the decision (nothing to pay),
and the daily settlement report."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from rathaus.contracts import decode_event
from rathaus.contracts.common import Person
from rathaus.contracts.common_v2 import Party
from rathaus.contracts.eakte.v1 import BookingLine, CaseOpened, ClaimCreated
from rathaus.contracts.eakte.v2 import DecisionMade
from rathaus.contracts.portal.v1 import PaymentRestartRequested, PaymentReturned
from rathaus.contracts.portal.v2 import ApplicationSubmitted
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.payment import PaymentStatus
from rathaus.platform.orchestration.bootstrap import bootstrap
from rathaus.platform.runtime.payprovider import TestPaymentProvider, use_test_provider
from rathaus.platform.runtime.payprovider.controls import TestProviderControls, choose
from rathaus.platform.runtime.processes import free_port
from rathaus.platform.testing import RunningServer, eventually, record_histories, write_procedure

NOW = datetime.now(UTC).isoformat()
PERSON = Person(given_name="Erika", family_name="Mustermann", birth_date="1964-08-12")
SCALE = 0.5 / 432000  # the 5-day decision deadline becomes half a second
FEE = 4250


@dataclass
class World:
    orchestration: Kernel
    app: ModuleApp
    portal: Kernel
    eakte: Kernel
    provider: TestPaymentProvider
    seen: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    async def emit(self, kernel: Kernel, data: msgspec.Struct, case_id: str) -> None:
        async with kernel.transaction() as uow:
            await uow.emit(data, subject=case_id)  # type: ignore[arg-type]

    def of(self, case_id: str, kind: str) -> list[dict[str, Any]]:
        return [d for c, t, d in self.seen if c == case_id and t == kind]

    def controls(self) -> TestProviderControls:
        return TestProviderControls(self.provider.base_url, self.provider.user, self.provider.password)

    async def next_attempt(self, case_id: str, number: int) -> dict[str, Any]:
        async def requested() -> bool:
            return any(d["attempt"] == number for d in self.of(case_id, "payment.requested.v1"))

        await eventually(requested, timeout=30)
        return next(d for d in self.of(case_id, "payment.requested.v1") if d["attempt"] == number)

    async def ended(self, case_id: str, kind: str, number: int) -> dict[str, Any]:
        async def arrived() -> bool:
            return any(d["attempt"] == number for d in self.of(case_id, kind))

        await eventually(arrived, timeout=30)
        return next(d for d in self.of(case_id, kind) if d["attempt"] == number)

    def statuses(self, case_id: str) -> list[str]:
        return [d["status"] for d in self.of(case_id, "case.status-changed.v1")]


@contextlib.asynccontextmanager
async def running(
    settings: Settings, temporal: RunningServer, tmp_path: Path, attempt_seconds: float = 300
) -> AsyncIterator[World]:
    provider = TestPaymentProvider(tmp_path / "anbieter", free_port(), [("rathaus-demo", "gebuehren")])
    provider.start()
    settings.payment.originator_id, settings.payment.endpoint_id = "rathaus-demo", "gebuehren"
    use_test_provider(settings, provider)
    settings.payment.user, settings.payment.password = provider.user, provider.password
    settings.temporal.address = temporal.url
    settings.temporal.task_queue = f"cases-{uuid.uuid4().hex[:8]}"
    settings.deadline_scale = SCALE
    settings.payment.attempt_hours = attempt_seconds / 3600
    for service, payment in (("vorab", "before"), ("danach", "after_decision"), ("freiwillig", "optional")):
        write_procedure(
            tmp_path / "leistungen",
            service,
            extra=f'[fee]\ncents = {FEE}\npayment = "{payment}"\nlegal_basis = "Gebührensatzung"',
        )
    settings.procedure_dirs = [tmp_path / "leistungen"]
    orchestration = Kernel("orchestration", settings)
    w = World(
        orchestration,
        bootstrap(orchestration),
        Kernel("portal", settings),
        Kernel("eakte", settings),
        provider,
    )
    for kernel in (w.portal, w.eakte):
        await kernel.start(ModuleApp())
    await w.orchestration.start(w.app)
    nc = await nats.connect(settings.nats.url)

    async def collect(msg: nats.aio.msg.Msg) -> None:
        event = decode_event(msg.data)
        w.seen.append((event.subject or "", event.type.split(".", 3)[3], msgspec.json.decode(event.data)))

    await nc.subscribe("rathaus.platform.>", cb=collect)
    try:
        yield w
    finally:
        await nc.close()
        await record_histories(settings.temporal.address, settings.temporal.task_queue)
        await w.orchestration.stop(w.app)
        for kernel in (w.portal, w.eakte):
            await kernel.stop(ModuleApp())
        provider.stop()


@pytest.fixture
async def world(settings: Settings, temporal: RunningServer, tmp_path: Path) -> AsyncIterator[World]:
    async with running(settings, temporal, tmp_path) as w:
        yield w


async def open_case(world: World, service: str = "vorab") -> str:
    """A submitted case of ``service``, opened by the E-Akte with its Forderung."""
    case_id = str(uuid.uuid4())
    await world.emit(
        world.portal,
        ApplicationSubmitted(
            case_id=case_id,
            service_id=service,
            service_version=1,
            procedure_digest="",
            applicant=Party(person=PERSON, email="erika@example.org", account_id="acc-1"),
            data={"betreff": "Test"},
            submitted_at=NOW,
        ),
        case_id,
    )
    await world.emit(
        world.eakte,
        CaseOpened(
            case_id=case_id,
            aktenzeichen="523.11-2026-000009",
            service_id=service,
            unit="KVR-III/12",
            opened_at=NOW,
            service_version=1,
        ),
        case_id,
    )
    return case_id


async def claim(world: World, case_id: str, service: str = "vorab") -> str:
    kassenzeichen = f"KZ{uuid.uuid4().hex[:10].upper()}"
    await world.emit(
        world.eakte,
        ClaimCreated(
            case_id=case_id,
            claim_id=str(uuid.uuid4()),
            kassenzeichen=kassenzeichen,
            amount_cents=FEE,
            payment="before",
            purpose=f"Gebühr {kassenzeichen}",
            description="Testleistung, Aktenzeichen 523.11-2026-000009",
            lines=[
                BookingLine(
                    tariff="test",
                    haushaltsstelle="1100.1100",
                    objektnummer="4711",
                    text="Verwaltungsgebühr",
                    amount_cents=FEE,
                )
            ],
            service_id=service,
            created_at=NOW,
        ),
        case_id,
    )
    return kassenzeichen


async def came_back(world: World, case_id: str) -> None:
    """The citizen's browser lands on the portal's return URL: only a hint to look now."""
    await world.emit(world.portal, PaymentReturned(case_id=case_id, returned_at=NOW), case_id)


async def test_a_fee_due_before_processing_holds_the_case_until_the_provider_says_payed(world: World) -> None:
    case_id = await open_case(world)
    kassenzeichen = await claim(world, case_id)
    attempt = await world.next_attempt(case_id, 1)
    assert attempt["amount_cents"] == FEE and attempt["kassenzeichen"] == kassenzeichen
    assert attempt["transaction_url"].startswith(world.provider.base_url)
    assert world.statuses(case_id) == ["eingegangen"]  # no processing before the money

    back = await choose(attempt["transaction_url"], "bezahlen", "PAYPAL")
    assert back.status_code == 303 and back.headers["location"].endswith(f"/antraege/{case_id}/zahlung")
    await came_back(world, case_id)
    paid = await world.ended(case_id, "payment.completed.v1", 1)
    assert paid["amount_cents"] == FEE and paid["payment_method"] == "PAYPAL" and paid["late"] is False
    assert paid["transaction_id"] == attempt["transaction_id"]

    async def processing() -> bool:
        return "zur_entscheidung" in world.statuses(case_id)

    await eventually(processing, timeout=30)
    assert world.statuses(case_id)[:2] == ["eingegangen", "in_pruefung"]
    assert world.of(case_id, "payment.failed.v1") == []
    assert world.orchestration.consumer.dead_lettered == 0


async def test_a_failed_payment_is_started_again_by_the_citizen_and_paid_on_the_second_attempt(
    world: World,
) -> None:
    case_id = await open_case(world)
    await claim(world, case_id)
    first = await world.next_attempt(case_id, 1)
    await choose(first["transaction_url"], "fehlschlagen")
    await came_back(world, case_id)
    failed = await world.ended(case_id, "payment.failed.v1", 1)
    assert failed["status"] == "FAILED"

    claim_id = next(iter(world.of(case_id, "payment.requested.v1")))["claim_id"]
    await world.emit(
        world.portal,
        PaymentRestartRequested(case_id=case_id, claim_id=claim_id, requested_at=NOW),
        case_id,
    )
    second = await world.next_attempt(case_id, 2)
    assert second["transaction_id"] != first["transaction_id"]
    await choose(second["transaction_url"], "bezahlen")
    await came_back(world, case_id)
    paid = await world.ended(case_id, "payment.completed.v1", 2)
    assert paid["transaction_id"] == second["transaction_id"]
    assert len(world.of(case_id, "payment.completed.v1")) == 1


async def test_an_abandoned_attempt_expires_and_a_late_payed_after_it_still_counts(
    settings: Settings, temporal: RunningServer, tmp_path: Path
) -> None:
    async with running(settings, temporal, tmp_path, attempt_seconds=3) as world:
        case_id = await open_case(world)
        await claim(world, case_id)
        attempt = await world.next_attempt(case_id, 1)
        expired = await world.ended(case_id, "payment.failed.v1", 1)
        assert expired["status"] == "EXPIRED"
        assert world.of(case_id, "payment.completed.v1") == []

        # the citizen paid after all (the provider settles it late): the workflow, still
        # looking at the ended attempt, applies it
        await world.controls().set_status(attempt["transaction_id"], PaymentStatus.PAYED)
        paid = await world.ended(case_id, "payment.completed.v1", 1)
        assert paid["late"] is True and paid["transaction_id"] == attempt["transaction_id"]
        assert [d["attempt"] for d in world.of(case_id, "payment.requested.v1")] == [1]  # none started anew


async def test_the_case_waits_through_a_provider_outage_and_completes_when_it_is_back(world: World) -> None:
    case_id = await open_case(world)
    await claim(world, case_id)
    attempt = await world.next_attempt(case_id, 1)
    controls = world.controls()
    await controls.outage(True)
    await controls.set_status(attempt["transaction_id"], PaymentStatus.PAYED)  # paid meanwhile
    await came_back(world, case_id)

    async def asked_in_vain() -> bool:
        return await controls.refused_during_outage() >= 2

    await eventually(asked_in_vain, timeout=30)
    assert world.of(case_id, "payment.completed.v1") == []
    assert world.of(case_id, "payment.failed.v1") == []  # away is not failed
    await controls.outage(False)
    await came_back(world, case_id)
    paid = await world.ended(case_id, "payment.completed.v1", 1)
    assert paid["amount_cents"] == FEE


async def test_after_the_decision_a_grant_is_delivered_once_paid_and_a_refusal_asks_for_nothing(
    world: World,
) -> None:
    granted, refused = await open_case(world, "danach"), await open_case(world, "danach")
    for case_id in (granted, refused):
        await claim(world, case_id, "danach")

    async def waiting_for_decision() -> bool:
        return all("zur_entscheidung" in world.statuses(c) for c in (granted, refused))

    await eventually(waiting_for_decision, timeout=30)
    assert world.of(granted, "payment.requested.v1") == []  # nothing to pay before the decision
    for case_id, outcome in ((granted, "granted"), (refused, "refused")):
        await world.emit(
            world.eakte,
            DecisionMade(
                case_id=case_id,
                aktenzeichen="523.11-2026-000009",
                service_id="danach",
                service_version=1,
                procedure_digest="",
                outcome=outcome,
                mode="clerk",
                reasons="Test.",
                recipient=Party(person=PERSON, email="erika@example.org", account_id="acc-1"),
                data={},
                facts={},
                unit="KVR-III/12",
                decided_by="s1",
                decided_at=NOW,
                submitted_at=NOW,
            ),
            case_id,
        )

    async def refusal_delivered() -> bool:
        return any(c == refused and t == "delivery.requested.v1" for c, t, _ in world.seen)

    await eventually(refusal_delivered, timeout=30)
    assert world.of(refused, "payment.requested.v1") == []
    attempt = await world.next_attempt(granted, 1)
    assert not any(c == granted and t == "delivery.requested.v1" for c, t, _ in world.seen)
    await choose(attempt["transaction_url"], "bezahlen")
    await came_back(world, granted)
    await world.ended(granted, "payment.completed.v1", 1)

    async def grant_delivered() -> bool:
        return any(c == granted and t == "delivery.requested.v1" for c, t, _ in world.seen)

    await eventually(grant_delivered, timeout=30)


async def test_the_daily_settlement_reports_the_providers_transactions(world: World) -> None:
    case_id = await open_case(world)
    kassenzeichen = await claim(world, case_id)
    attempt = await world.next_attempt(case_id, 1)
    await choose(attempt["transaction_url"], "bezahlen")
    await world.controls().orphan("KZ-UNBEKANNT", 999)
    settings = world.orchestration.settings
    client = await Client.connect(settings.temporal.address, namespace=settings.temporal.namespace)
    day = datetime.now(UTC).date().isoformat()
    counts = [
        await client.execute_workflow(
            "ReconciliationWorkflow",
            day,
            id=f"abgleich-test-{run}-{uuid.uuid4().hex[:6]}",
            task_queue=settings.temporal.task_queue,
            result_type=int,
        )
        for run in range(2)
    ]
    assert counts[0] == counts[1] >= 2

    async def reported() -> bool:
        return bool([d for c, t, d in world.seen if t == "payment.settled.v1" and d["day"] == day])

    await eventually(reported, timeout=30)
    reports = [d for c, t, d in world.seen if t == "payment.settled.v1" and d["day"] == day]
    assert len({msgspec.json.encode(r["transactions"]) for r in reports}) == 1
    listed = {t["kassenzeichen"]: t for t in reports[0]["transactions"]}
    assert listed[kassenzeichen]["status"] == "PAYED" and listed[kassenzeichen]["amount_cents"] == FEE
    assert listed["KZ-UNBEKANNT"]["amount_cents"] == 999
    assert reports[0]["provider"] == "test-provider"


async def test_an_optional_fee_is_offered_and_the_case_goes_on_without_waiting_for_it(world: World) -> None:
    case_id = await open_case(world, "freiwillig")
    await claim(world, case_id, "freiwillig")
    attempt = await world.next_attempt(case_id, 1)  # offered at once…

    async def decision_requested() -> bool:
        return "zur_entscheidung" in world.statuses(case_id)

    await eventually(decision_requested, timeout=30)  # …and not waited for
    assert world.of(case_id, "payment.completed.v1") == []
    await choose(attempt["transaction_url"], "bezahlen")
    await came_back(world, case_id)
    paid = await world.ended(case_id, "payment.completed.v1", 1)
    assert paid["amount_cents"] == FEE


async def test_the_reminder_falls_due_a_day_before_and_not_for_a_cancelled_appointment(world: World) -> None:
    """The AppointmentWorkflow's timer: a day before the appointment it asks the portal to
    remind; a cancelled appointment's timer ends without a reminder."""
    from datetime import timedelta

    from rathaus.contracts.portal.v1 import AppointmentBooked, AppointmentCancelled

    soon = datetime.now(UTC) + timedelta(days=1, seconds=3)  # the reminder in three seconds
    kept, cancelled = str(uuid.uuid4()), str(uuid.uuid4())
    for appointment_id in (kept, cancelled):
        booked = AppointmentBooked(
            appointment_id=appointment_id,
            reference="T-0001",
            case_id="",
            service_id="personalausweis",
            location="buergerbuero-ruppertstrasse",
            starts_at=soon.isoformat(),
            ends_at=(soon + timedelta(minutes=20)).isoformat(),
            persons=1,
            name="Erika Mustermann",
            booked_at=NOW,
        )
        await world.emit(world.portal, booked, appointment_id)
    await world.emit(
        world.portal,
        AppointmentCancelled(
            appointment_id=cancelled,
            case_id="",
            location="buergerbuero-ruppertstrasse",
            reason="citizen",
            cancelled_at=NOW,
        ),
        cancelled,
    )
    settings = world.orchestration.settings
    client = await Client.connect(settings.temporal.address, namespace=settings.temporal.namespace)
    results: dict[str, str] = {}

    async def both_ended() -> bool:
        for a in (kept, cancelled):
            try:
                description = await client.get_workflow_handle(f"termin-{a}").describe()
            except RPCError:  # the bridge has not started it yet
                return False
            if description.status != WorkflowExecutionStatus.COMPLETED:
                return False
            results[a] = await client.get_workflow_handle(f"termin-{a}").result()
        return True

    await eventually(both_ended, timeout=30)
    assert results == {kept: "erinnert", cancelled: "abgesagt"}
    reminders = [d for c, t, d in world.seen if t == "appointment.reminder-due.v1"]
    assert [r["appointment_id"] for r in reminders] == [kept]
