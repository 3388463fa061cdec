"""The E-Akte on the real bus keeps how a Bescheid became notified: the presumed day from
the delivery, the portal's evidence of the first retrieval (who, when, from where) and the
day output determined from it, once; staff see it on the case page with its legal basis."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from modules.eakte.tests.integration.bekanntgabe_helpers import (
    AGENT,
    BASIS,
    DATA,
    Delivered,
    delivered_case,
    determined,
    recorded,
    retrievals,
    row,
)
from rathaus.eakte import PREFIX
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.store import audit
from rathaus.platform.kernel import Kernel, ModuleApp
from rathaus.platform.kernel.outbox import processed_table
from rathaus.platform.testing import eventually


async def test_the_retrieval_and_the_day_of_notice_on_the_case_page(
    office: Any, clerk_of: Callable[..., Any]
) -> None:
    case = await delivered_case(office)
    try:
        clerk = await clerk_of("BAU-T/31")
        page = (await clerk.http.get(f"{PREFIX}/vorgaenge/{case.case_id}")).text
        assert "Bekanntgabe des Bescheids" in page and "23.11.2026" in page
        assert "falls der Bescheid nicht früher abgerufen wird" in page and "noch nicht abgerufen" in page
        assert BASIS in page and "Rechtsbehelfsfrist endet</dt>" in page and "23.12.2026 (ein Monat" in page

        # the evidence twice (a redelivery with the same retrieval id), then the day: twice,
        # the second time with another day, which must change nothing
        for _ in range(2):
            await office.emit(office.portal, recorded(case), case.case_id)
        await office.emit(case.output, determined(case), case.case_id)
        second = str(uuid.uuid4())
        async with case.output.transaction() as uow:
            await uow.emit(
                determined(case, day="2026-11-23", by_retrieval=False), subject=case.case_id, event_id=second
            )

        async def settled() -> bool:
            found = await row(office, case.case_id)
            return bool(found and found["determined"]) and len(await retrievals(office, case.case_id)) == 1

        await eventually(settled, timeout=30)

        async def both_handled() -> bool:  # the second BekanntgabeDetermined was consumed too
            async with office.eakte.db.read() as s:
                found = await s.execute(
                    sa.select(processed_table.c.event_id).where(processed_table.c.event_id == second)
                )
                return found.first() is not None

        await eventually(both_handled, timeout=30)
        found = await row(office, case.case_id)
        assert found is not None
        assert (found["bekanntgabe"], found["by_retrieval"], found["presumed"]) == (
            "2026-11-21",
            True,
            "2026-11-23",
        )
        async with office.eakte.db.read() as s:
            actions = (
                (await s.execute(sa.select(audit.c.action).where(audit.c.case_id == case.case_id)))
                .scalars()
                .all()
            )
        assert actions.count("bescheid_abgerufen") == 1 and actions.count("bekanntgabe_festgestellt") == 1

        page = (await clerk.http.get(f"{PREFIX}/vorgaenge/{case.case_id}")).text
        for expected in (
            "<strong>21.11.2026</strong> – Tag des ersten Abrufs (vor dem 23.11.2026",
            "21.11.2026, 00:10 Uhr durch Erika Mustermann",
            "<code>203.0.113.7</code>",
            "21.12.2026 (ein Monat ab Bekanntgabe",
            AGENT,
            BASIS,
        ):
            assert expected in page, expected
        # a unit with no part in the case sees none of it
        other = await clerk_of("KVR-II/11")
        assert (await other.http.get(f"{PREFIX}/vorgaenge/{case.case_id}")).status_code == 403
        assert await EAkte(office.eakte).verify_audit()
    finally:
        await case.output.stop(ModuleApp())


async def test_a_bescheid_delivered_before_the_upgrade_gets_its_day_from_the_retrieval(
    office: Any, clerk_of: Callable[..., Any]
) -> None:
    """Delivered before eakte_0005 (no record of its notice yet): the determined day after
    a later retrieval is filed all the same, not retried into the dead letters."""
    case_id = await office.submit("test-mitzeichnung", DATA)
    az = (await office.wait_for("case.opened.v1", case_id))["aktenzeichen"]
    output = Kernel("output", office.settings)
    await output.start(ModuleApp())
    try:
        case = Delivered(case_id, az, "f" * 64, output)
        await office.emit(output, determined(case), case_id)

        async def filed() -> bool:
            return await row(office, case_id) is not None

        await eventually(filed, timeout=30)
        clerk = await clerk_of("BAU-T/31")
        page = (await clerk.http.get(f"{PREFIX}/vorgaenge/{case_id}")).text
        assert "<strong>21.11.2026</strong> – Tag des ersten Abrufs" in page
    finally:
        await output.stop(ModuleApp())
