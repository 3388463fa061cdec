"""An E-Akte from before services as data upgrades: its cases keep version 1 of their
service with their form as data; its organisation gains the units and file-plan entries
that are new in the procedure data, and nothing is removed; seeding twice adds nothing."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from rathaus.eakte.bootstrap import bootstrap
from rathaus.eakte.store import aktenplan, staff, units, vorgaenge
from rathaus.platform.kernel import Kernel, Settings
from rathaus.platform.kernel.db import alembic_config

MIGRATIONS = Path(__file__).parents[2] / "src" / "rathaus" / "eakte" / "migrations"
OLD_CASE = {
    "case_id": "alt-1",
    "aktenzeichen": "523.11-2025-000001",
    "akte_titel": "Bewohnerparkausweis beantragen – Mustermann, Erika",
    "aktenplan": "523.11",
    "service_id": "bewohnerparkausweis",
    "unit": "KVR-III/12",
    "status": "entschieden",
    "applicant": {
        "person": {"given_name": "Erika", "family_name": "Mustermann", "birth_date": "1964-08-12"},
        "address": {
            "street": "Zenettistraße",
            "house_number": "12",
            "postal_code": "80337",
            "city": "München",
        },
        "email": "erika@example.org",
    },
    "form": {"kennzeichen": "M-EM 1964", "stadtbezirk": "02 Ludwigsvorstadt-Isarvorstadt"},
    "evidence": [],
    "opened_at": "2025-11-02T10:00:00+00:00",
    "submitted_at": "2025-11-02T09:59:00+00:00",
}


async def test_an_old_database_upgrades_and_gains_new_units(any_database: Settings, tmp_path: Path) -> None:
    settings = any_database
    kernel = Kernel("eakte", settings)
    app = bootstrap(kernel)

    def to_first(connection: sa.Connection) -> None:
        config = alembic_config(MIGRATIONS, "alembic_version", None)
        config.attributes["connection"] = connection
        command.upgrade(config, "eakte_0001")

    async with kernel.db.engine.begin() as conn:
        await conn.run_sync(to_first)
        old = sa.table(
            "vorgaenge",
            *(
                sa.column(k, sa.JSON if k in ("applicant", "form", "evidence") else sa.String)
                for k in OLD_CASE
            ),
        )
        await conn.execute(old.insert().values(**OLD_CASE))
        await conn.execute(units.insert().values(code="KVR-III/12", name="Bewohnerparken (alt)"))
    await kernel.db.migrate(app.migrations, app.metadata)
    async with kernel.db.read() as s:
        row = (await s.execute(sa.select(vorgaenge))).mappings().one()
    assert row["service_version"] == 1 and row["procedure_digest"] == ""
    assert row["data"] == OLD_CASE["form"] and row["stadtbezirk"] == "02 Ludwigsvorstadt-Isarvorstadt"
    assert row["warnings"] == [] and row["files"] == {}
    await kernel.db.dispose()

    # the procedure data of this city has a new unit and a new file-plan entry
    extra = tmp_path / "stadt"
    extra.mkdir()
    (extra / "einheiten.toml").write_text(
        '[[einheiten]]\ncode = "TEST-9/1"\nname = "Testamt – Prüfstelle"\ndepartment = "Testreferat"\naddress = "Testweg 1"\n',
        encoding="utf-8",
    )
    (extra / "aktenplan.toml").write_text(
        '[[eintraege]]\ncode = "999"\ntitle = "Testakten"\n\n[[eintraege]]\ncode = "999.1"\ntitle = "Prüfungen"\nparent = "999"\nunit = "TEST-9/1"\n',
        encoding="utf-8",
    )
    kernel = Kernel("eakte", settings.model_copy(update={"procedure_dirs": [extra]}))
    app = bootstrap(kernel)
    await kernel.db.migrate(app.migrations, app.metadata)
    assert app.seed is not None
    await app.seed()
    await app.seed()  # idempotent
    async with kernel.db.read() as s:
        known = dict((await s.execute(sa.select(units.c.code, units.c.name))).all())
        plan = dict((await s.execute(sa.select(aktenplan.c.code, aktenplan.c.unit))).all())
        logins = list((await s.execute(sa.select(staff.c.username).order_by(staff.c.username))).scalars())
    assert known["KVR-III/12"] == "Bewohnerparken (alt)"  # kept as it was
    assert known["TEST-9/1"] == "Testamt – Prüfstelle" and "BAU-T/31" in known
    assert plan["999.1"] == "TEST-9/1" and plan["523.11"] == "KVR-III/12"
    # accounts for the units that work on procedures (more once more procedures are data)
    assert {"kvr-bewohnerparken", "kvr-bewohnerparken-leitung", "poststelle"} <= set(logins)
    lines = (settings.data_dir / "demo-zugaenge.txt").read_text(encoding="utf-8").splitlines()
    written = [line.split("\t") for line in lines]
    assert sorted(w[1] for w in written) == logins  # each once, however often seeded
    assert ["sachbearbeitung", "kvr-bewohnerparken"] in [w[:2] for w in written]
    assert [
        "leitung",
        "kvr-bewohnerparken-leitung",
    ] in [w[:2] for w in written]
    assert ["poststelle", "poststelle"] in [w[:2] for w in written]
    assert (settings.data_dir / "demo-zugaenge.txt").stat().st_mode & 0o077 == 0
    await kernel.db.dispose()
