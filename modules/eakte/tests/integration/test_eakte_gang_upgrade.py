"""An E-Akte from before the Geschäftsgang upgrades: each case's Mitzeichnung becomes a route
of its own (running while the case is undecided), its answered steps done, its open ones
current; cases are not personal."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from rathaus.eakte.bootstrap import bootstrap
from rathaus.eakte.store import beteiligungen, decisions, vorgaenge
from rathaus.eakte.store_gang import verfuegungen
from rathaus.platform.kernel import Kernel, Settings
from rathaus.platform.kernel.db import alembic_config

MIGRATIONS = Path(__file__).parents[2] / "src" / "rathaus" / "eakte" / "migrations"
AT = "2026-11-02T10:00:00+00:00"


def case(case_id: str) -> dict[str, object]:
    return {
        "case_id": case_id,
        "aktenzeichen": f"661.20-2026-{case_id[-6:]}",
        "akte_titel": "Sondernutzung – Mustermann Bau GmbH",
        "aktenplan": "661.20",
        "service_id": "sondernutzung",
        "unit": "BAU-T/31",
        "status": "zur_entscheidung",
        "applicant": {},
        "data": {},
        "files": {},
        "warnings": [],
        "evidence": [],
        "opened_at": AT,
        "submitted_at": AT,
    }


async def test_cosignatures_become_routes(any_database: Settings) -> None:
    kernel = Kernel("eakte", any_database)
    app = bootstrap(kernel)

    def to_bekanntgabe(connection: sa.Connection) -> None:
        config = alembic_config(MIGRATIONS, "alembic_version", None)
        config.attributes["connection"] = connection
        command.upgrade(config, "eakte_0005")

    old_steps = sa.table(
        "beteiligungen",
        *(
            sa.column(c)
            for c in ("case_id", "step", "unit", "kind", "status", "note", "requested_at", "by", "at")
        ),
    )
    async with kernel.db.engine.begin() as conn:
        await conn.run_sync(to_bekanntgabe)
        for case_id in ("offen-000001", "entschieden-000002"):
            await conn.execute(sa.insert(vorgaenge.c.case_id.table).values(**case(case_id)))
        await conn.execute(
            old_steps.insert().values(
                case_id="offen-000001",
                step=1,
                unit="KVR-III/11",
                kind="mitzeichnung",
                status="angefordert",
                note="",
                requested_at=AT,
            )
        )
        await conn.execute(
            old_steps.insert().values(
                case_id="entschieden-000002",
                step=1,
                unit="KVR-III/11",
                kind="mitzeichnung",
                status="mitgezeichnet",
                note="Einverstanden.",
                requested_at=AT,
                by="kvr",
                at=AT,
            )
        )
        await conn.execute(
            sa.insert(decisions).values(
                case_id="entschieden-000002",
                outcome="granted",
                reasons="Ja.",
                decided_by="s1",
                decided_at=AT,
                mode="clerk",
            )
        )
    await kernel.db.migrate(app.migrations, app.metadata)
    async with kernel.db.read() as s:
        routes = {r.case_id: r for r in (await s.execute(sa.select(verfuegungen))).all()}
        steps = {r.case_id: r for r in (await s.execute(sa.select(beteiligungen))).all()}
        personal = set((await s.execute(sa.select(vorgaenge.c.persoenlich))).scalars())
    assert (
        routes["offen-000001"].status == "laeuft" and routes["entschieden-000002"].status == "abgeschlossen"
    )
    assert routes["offen-000001"].title == "Mitzeichnung nach dem Verfahren"
    assert routes["offen-000001"].created_by == "system" and routes["offen-000001"].documents == []
    assert steps["offen-000001"].state == "current" and steps["offen-000001"].number == 1
    assert steps["offen-000001"].verfuegung_id == routes["offen-000001"].verfuegung_id
    assert (
        steps["entschieden-000002"].state == "done" and steps["entschieden-000002"].note == "Einverstanden."
    )
    assert steps["entschieden-000002"].person == "" and steps["entschieden-000002"].role == ""
    assert personal == {False}
    await kernel.db.dispose()
