"""A case of the E-Akte with a delivered Bescheid, its first retrieval from the Postkorb and
the day of notice output determined from it, over the bus, for the Bekanntgabe tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from rathaus.contracts.output.v1 import BekanntgabeDetermined, DecisionDelivered
from rathaus.contracts.portal.v1 import RetrievalRecorded
from rathaus.eakte.store_bekanntgabe import abrufe, bekanntgaben
from rathaus.platform.kernel import Kernel, ModuleApp
from rathaus.platform.testing import eventually

DATA = {
    "art": "geruest",
    "beginn": "2026-08-01",
    "ende": "2026-08-03",
    "strasse": "Tal",
    "flaechen": [{"bezeichnung": "Gerüst", "quadratmeter": 4}],
    "gebuehr": 30.0,
}
PROVIDED = "2026-11-19T21:30:00+00:00"  # Thursday 22:30 in Munich
RETRIEVED = "2026-11-20T23:10:00+00:00"  # Saturday 00:10 in Munich
AGENT = "Mozilla/5.0 (X11; Linux x86_64) Testbrowser/1.0"
BASIS = "§ 9 Abs. 1 Satz 4 OZG (Test)"


@dataclass
class Delivered:
    case_id: str
    aktenzeichen: str
    sha256: str
    output: Kernel


async def delivered_case(office: Any) -> Delivered:
    case_id = await office.submit("test-mitzeichnung", DATA)
    az = (await office.wait_for("case.opened.v1", case_id))["aktenzeichen"]
    output = Kernel("output", office.settings)
    await output.start(ModuleApp())
    ref = await output.blobs.put(
        "output", b"%PDF-1.7 Bescheid", media_type="application/pdf", filename="b.pdf"
    )
    async with output.transaction() as uow:
        await uow.emit(
            DecisionDelivered(
                case_id=case_id,
                aktenzeichen=az,
                service_id="test-mitzeichnung",
                outcome="granted",
                document=ref,
                channel="postkorb",
                sent_at=PROVIDED,
                bekanntgabe="2026-11-23",  # the third day, Sunday, moved to Monday
                bekanntgabe_basis=BASIS,
                appeal_ends="2026-12-23",
            ),
            subject=case_id,
        )

    async def filed() -> bool:
        return await row(office, case_id) is not None

    await eventually(filed, timeout=30)
    return Delivered(case_id, az, ref.sha256, output)


async def row(office: Any, case_id: str) -> dict[str, Any] | None:
    async with office.eakte.db.read() as s:
        found = (
            (await s.execute(sa.select(bekanntgaben).where(bekanntgaben.c.case_id == case_id)))
            .mappings()
            .first()
        )
    return dict(found) if found else None


async def retrievals(office: Any, case_id: str) -> list[dict[str, Any]]:
    async with office.eakte.db.read() as s:
        return [
            dict(r)
            for r in (await s.execute(sa.select(abrufe).where(abrufe.c.case_id == case_id))).mappings()
        ]


def recorded(case: Delivered, retrieval_id: str = "r-1") -> RetrievalRecorded:
    return RetrievalRecorded(
        retrieval_id=retrieval_id,
        case_id=case.case_id,
        sha256=case.sha256,
        retrieved_at=RETRIEVED,
        account_id="acc-erika",
        name="Erika Mustermann",
        client_address="203.0.113.7",
        user_agent=AGENT,
    )


def determined(
    case: Delivered, *, day: str = "2026-11-21", by_retrieval: bool = True
) -> BekanntgabeDetermined:
    return BekanntgabeDetermined(
        case_id=case.case_id,
        aktenzeichen=case.aktenzeichen,
        sha256=case.sha256,
        channel="postkorb",
        provided_at=PROVIDED,
        retrieved_at=RETRIEVED,
        presumed="2026-11-23",
        bekanntgabe=day,
        by_retrieval=by_retrieval,
        legal_basis=BASIS,
        appeal_ends="2026-12-21" if by_retrieval else "2026-12-23",
    )
