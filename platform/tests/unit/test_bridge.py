"""The signal bridge when Temporal is away: the event is retried until it is back, never
spent on the retries of a poison message (which would park a good case's event)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from temporalio.service import RPCError, RPCStatusCode

from rathaus.contracts import new_event
from rathaus.contracts.eakte.v1 import CaseOpened
from rathaus.platform.kernel import Kernel, Settings, UnitOfWork
from rathaus.platform.kernel.consumer import RetryLater
from rathaus.platform.orchestration.bridge import Bridge
from rathaus.platform.orchestration.model import CASE_OPENED


class Temporal:
    """A client whose every call fails with the given gRPC status."""

    def __init__(self, status: RPCStatusCode) -> None:
        self.status = status

    async def start_workflow(self, *args: Any, **kwargs: Any) -> None:
        raise RPCError("tcp connect error", self.status, b"")


def bridge_and_uow(tmp_path: Path) -> tuple[Bridge, UnitOfWork]:
    kernel = Kernel("orchestration", Settings(data_dir=tmp_path, secret_key="k" * 32))
    case_id = str(uuid.uuid4())
    opened = CaseOpened(
        case_id=case_id,
        aktenzeichen="523.11-2026-000001",
        service_id="bewohnerparkausweis",
        unit="KVR-III/12",
        stadtbezirk="",
        opened_at=datetime.now(UTC).isoformat(),
    )
    return Bridge(kernel), UnitOfWork(cast(Any, None), new_event(opened, subject=case_id))


async def test_an_unconnected_client_means_retry_later(tmp_path: Path) -> None:
    bridge, uow = bridge_and_uow(tmp_path)
    with pytest.raises(RetryLater):
        await bridge.signal("case", CASE_OPENED, uow, {})


@pytest.mark.parametrize("status", [RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED])
async def test_temporal_away_means_retry_later(tmp_path: Path, status: RPCStatusCode) -> None:
    bridge, uow = bridge_and_uow(tmp_path)
    bridge.client = cast(Any, Temporal(status))
    with pytest.raises(RetryLater):
        await bridge.signal("case", CASE_OPENED, uow, {})


async def test_a_refused_call_stays_a_failure_with_bounded_retries(tmp_path: Path) -> None:
    bridge, uow = bridge_and_uow(tmp_path)
    bridge.client = cast(Any, Temporal(RPCStatusCode.INVALID_ARGUMENT))
    with pytest.raises(RPCError):
        await bridge.signal("case", CASE_OPENED, uow, {})


def test_the_payment_step_only_where_the_e_akte_creates_a_forderung() -> None:
    """The workflow waits for a Forderung only where one comes: a fee above zero at the
    rates of the Munich day the application came in; none before the tariff's first rate."""
    from rathaus.contracts.common import Person
    from rathaus.contracts.common_v2 import Party
    from rathaus.contracts.portal.v2 import ApplicationSubmitted
    from rathaus.platform.kernel.procedures import load_procedures

    procedures = load_procedures([], True)

    def submitted(service_id: str, at: str) -> ApplicationSubmitted:
        return ApplicationSubmitted(
            case_id=str(uuid.uuid4()),
            service_id=service_id,
            service_version=1,
            procedure_digest="",
            applicant=Party(person=Person(given_name="E", family_name="M", birth_date="1964-08-12")),
            data={},
            submitted_at=at,
        )

    halteverbot, fundsache = procedures.get("halteverbotszone", 1), procedures.get("fundsache", 1)
    assert Bridge.fee_due(halteverbot, submitted("halteverbotszone", "2026-06-01T10:00:00+00:00"))
    # 23:30 UTC on New Year's Eve is already 1 January in Munich: the 2027 rate, still a fee
    assert Bridge.fee_due(halteverbot, submitted("halteverbotszone", "2026-12-31T23:30:00+00:00"))
    # before the tariff's first rate the fee cannot be computed: no Forderung, no waiting
    assert not Bridge.fee_due(halteverbot, submitted("halteverbotszone", "2025-06-01T10:00:00+00:00"))
    assert not Bridge.fee_due(fundsache, submitted("fundsache", "2026-06-01T10:00:00+00:00"))
