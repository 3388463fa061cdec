"""Wiedervorlage on a real Temporal dev server and nats-server, a day scaled to two seconds:
a clerk sets a follow-up on a case, the platform's timer workflow fires at the start of its day
in Munich and the case is back in the clerk's inbox with the note; a lifted follow-up's timer
is cancelled and never comes back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from temporalio.client import Client, WorkflowExecutionStatus

from rathaus.eakte import PREFIX
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.store import audit
from rathaus.eakte.store_gang import wiedervorlagen
from rathaus.platform.kernel import Kernel, Settings
from rathaus.platform.orchestration.bootstrap import bootstrap as orchestration
from rathaus.platform.testing import RunningServer, eventually

DAY_SECONDS = 2.0


@pytest.fixture
def office_settings(settings: Settings, procedure_dir: Any, temporal: RunningServer) -> Settings:
    return settings.model_copy(
        update={
            "procedure_dirs": [procedure_dir],
            "deadline_scale": DAY_SECONDS / 86400,
            "temporal": settings.temporal.model_copy(
                update={"address": temporal.url, "task_queue": f"wv-{uuid.uuid4().hex[:8]}"}
            ),
        }
    )


@pytest.fixture
async def platform(office: Any) -> AsyncIterator[Kernel]:
    kernel = Kernel("orchestration", office.settings)
    app = orchestration(kernel)
    await kernel.start(app)
    yield kernel
    await kernel.stop(app)


def munich_in(days: int) -> str:
    return (datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=days)).isoformat()


async def test_a_wiedervorlage_brings_the_case_back_on_its_day(
    office: Any, platform: Kernel, served: str, clerk_of: Callable[..., Any]
) -> None:
    case_id = await office.submit("test-mitzeichnung", {"art": "container"}, applicant=office.business())
    az = (await office.wait_for("case.opened.v1", case_id))["aktenzeichen"]
    page_path = f"{PREFIX}/vorgaenge/{case_id}"
    clerk = await clerk_of("BAU-T/31")
    colleague = await clerk_of("BAU-T/31", "leitung")

    r = await clerk.post(
        f"{page_path}/wiedervorlage", {"day": munich_in(0), "note": "Heute?"}, page=page_path
    )
    assert "Die Wiedervorlage muss nach dem heutigen Tag liegen" in r.text
    r = await clerk.post(
        f"{page_path}/wiedervorlage", {"day": munich_in(2), "note": "Doch nicht nötig."}, page=page_path
    )
    r = await clerk.post(
        f"{page_path}/wiedervorlage",
        {"day": munich_in(1), "note": "Stellungnahme des KVR da?"},
        page=page_path,
    )
    assert "Stellungnahme des KVR da? (geplant)" in r.text
    async with office.eakte.db.read() as s:
        ids = {
            r.note: r.wiedervorlage_id
            for r in (
                await s.execute(sa.select(wiedervorlagen).where(wiedervorlagen.c.case_id == case_id))
            ).all()
        }
    # the later one is lifted: its timer is cancelled
    r = await clerk.post(f"{page_path}/wiedervorlage/{ids['Doch nicht nötig.']}", {}, page=page_path)
    assert "Doch nicht nötig. (aufgehoben)" in r.text
    set_at = datetime.now(UTC)

    async def back() -> bool:
        inbox = (await clerk.http.get(f"{PREFIX}/")).text
        return 'id="wiedervorlagen"' in inbox

    await eventually(back, timeout=30)
    inbox = " ".join((await clerk.http.get(f"{PREFIX}/")).text.split())
    assert az in inbox and "Stellungnahme des KVR da?" in inbox and "Doch nicht nötig." not in inbox
    # not before its (scaled) day: the start of tomorrow in Munich
    start = datetime.fromisoformat(munich_in(1)).replace(tzinfo=ZoneInfo("Europe/Berlin"))
    scaled = (start - set_at).total_seconds() * DAY_SECONDS / 86400
    assert (datetime.now(UTC) - set_at).total_seconds() >= scaled - 0.5
    # it is the clerk's own: a colleague of the unit does not get it
    assert 'id="wiedervorlagen"' not in (await colleague.http.get(f"{PREFIX}/")).text

    client = await Client.connect(
        office.settings.temporal.address, namespace=office.settings.temporal.namespace
    )
    lifted = client.get_workflow_handle(f"wiedervorlage-{ids['Doch nicht nötig.']}")
    assert await lifted.result() == "aufgehoben"
    fired = client.get_workflow_handle(f"wiedervorlage-{ids['Stellungnahme des KVR da?']}")
    assert (await fired.describe()).status == WorkflowExecutionStatus.COMPLETED
    assert await fired.result() == "faellig"

    # done: out of the inbox, everything in the audit chain
    r = await clerk.post(f"{page_path}/wiedervorlage/{ids['Stellungnahme des KVR da?']}", {}, page=page_path)
    assert "Stellungnahme des KVR da? (erledigt)" in r.text
    assert 'id="wiedervorlagen"' not in (await clerk.http.get(f"{PREFIX}/")).text
    async with office.eakte.db.read() as s:
        actions = list(
            (
                await s.execute(
                    sa.select(audit.c.action).where(audit.c.case_id == case_id).order_by(audit.c.seq)
                )
            ).scalars()
        )
    for expected in (
        "wiedervorlage_gesetzt",
        "wiedervorlage_aufgehoben",
        "wiedervorlage_faellig",
        "wiedervorlage_erledigt",
    ):
        assert expected in actions
    assert await EAkte(office.eakte).verify_audit()
