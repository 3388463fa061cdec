"""Any service from its procedure data: a version-2 application opens a case in the unit
and file plan its procedure names; decisions by the system (§ 35a VwVfG), by fiction
(§ 42a VwVfG) and by a clerk, the fiction and the clerk in either order."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import sqlalchemy as sa

from rathaus.eakte import PREFIX
from rathaus.eakte.store import audit, vorgaenge
from rathaus.platform.kernel.procedures.pins import pins
from rathaus.platform.testing import eventually

FLAECHEN = {
    "art": "container",
    "beginn": "2026-07-01",
    "ende": "2026-07-10",
    "strasse": "Sendlinger Straße",
    "flaechen": [
        {"bezeichnung": "Container vor Hausnummer 3", "quadratmeter": 6},
        {"bezeichnung": "Gerüst an der Fassade", "quadratmeter": 12.5},
    ],
    "gebuehr": 462.5,
}


async def actions(office: Any, case_id: str) -> list[str]:
    async with office.eakte.db.read() as s:
        rows = await s.execute(
            sa.select(audit.c.action).where(audit.c.case_id == case_id).order_by(audit.c.seq)
        )
        return list(rows.scalars())


def api(office: Any, base: str, unit: str) -> httpx.AsyncClient:
    user, password = office.login_of(unit)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return httpx.AsyncClient(base_url=base, headers={"Authorization": f"Basic {token}"}, timeout=30)


async def test_a_v2_application_opens_a_case_of_its_procedure(office: Any) -> None:
    from_business = await office.submit(
        "test-mitzeichnung",
        FLAECHEN,
        applicant=office.business(),
        stadtbezirk="01 Altstadt-Lehel",
        warnings=["Die Fläche liegt in einer Fußgängerzone."],
    )
    opened = await office.wait_for("case.opened.v1", from_business)
    assert re.fullmatch(r"661\.20-\d{4}-000001", opened["aktenzeichen"])
    assert opened["unit"] == "BAU-T/31" and opened["service_id"] == "test-mitzeichnung"
    assert opened["service_version"] == 1 and opened["stadtbezirk"] == "01 Altstadt-Lehel"
    assert opened["submitted_at"]
    definition = office.eakte.procedures.get("test-mitzeichnung", 1)
    async with office.eakte.db.read() as s:
        row = (
            (await s.execute(sa.select(vorgaenge).where(vorgaenge.c.case_id == from_business)))
            .mappings()
            .one()
        )
        pinned = (
            await s.execute(sa.select(pins.c.digest).where(pins.c.service_id == "test-mitzeichnung"))
        ).scalar()
    assert row["akte_titel"] == "Testflächen auf öffentlichem Grund – Mustermann Bau GmbH"
    assert row["service_version"] == 1 and row["procedure_digest"] == definition.digest == pinned
    assert row["data"]["flaechen"][1]["quadratmeter"] == 12.5
    assert row["warnings"] == ["Die Fläche liegt in einer Fußgängerzone."]
    assert row["applicant"]["organisation"]["register_number"] == "HRB 4711"
    # an anonymous applicant's Akte
    anonymous = await office.submit("test-automatisch", {"exemplare": 9}, applicant=office.anonymous())
    await office.wait_for("case.opened.v1", anonymous)
    async with office.eakte.db.read() as s:
        title = (
            await s.execute(sa.select(vorgaenge.c.akte_titel).where(vorgaenge.c.case_id == anonymous))
        ).scalar()
    assert title == "Testbescheinigung – anonym"


async def test_automatic_decision_when_the_rule_holds_else_a_clerk(office: Any, served: str) -> None:
    quick = await office.submit("test-automatisch", {"exemplare": 2, "zweck": "Wohnungsgeber"})
    await office.wait_for("case.opened.v1", quick)
    await office.request_decision(quick, mode="automatic")
    made = await office.wait_for("decision.made.v2", quick)
    assert made["mode"] == "automatic" and made["outcome"] == "granted" and made["decided_by"] == "system"
    assert "§ 35a VwVfG" in made["reasons"] and "„Testbescheinigung“ (Version 1)" in made["reasons"]
    assert made["facts"] == {"gebuehr": "10,00 EUR", "gebuehr_cent": "1000"}  # valid_days = 0: no validity
    assert "entscheidung" in await actions(office, quick)

    many = await office.submit("test-automatisch", {"exemplare": 7, "zweck": "Sammlung"})
    await office.wait_for("case.opened.v1", many)
    await office.request_decision(many, mode="automatic")

    async def left_to_a_clerk() -> bool:
        return "automatische_entscheidung_nicht_moeglich" in await actions(office, many)

    await eventually(left_to_a_clerk)
    assert not office.of("decision.made.v2", many)
    async with api(office, served, "KVR-II/11") as client:
        listed = (await client.get(f"{PREFIX}/api/vorgaenge")).json()
        assert {"case_id": many, "status": "zur_entscheidung"}.items() <= next(
            c for c in listed if c["case_id"] == many
        ).items()
        # this procedure only grants (a confirmation): a refusal is refused
        refused = await client.post(
            f"{PREFIX}/api/vorgaenge/{many}/entscheidung",
            json={"outcome": "refused", "reasons": "Zu viele Exemplare für einen Zweck."},
        )
        assert refused.status_code == 409 and "„Bewilligen“" in refused.json()["detail"]
        granted = await client.post(
            f"{PREFIX}/api/vorgaenge/{many}/entscheidung", json={"outcome": "granted"}
        )
        assert granted.status_code == 201
    made = await office.wait_for("decision.made.v2", many)
    assert made["mode"] == "clerk" and made["decided_by"] != "system"


async def test_fiction_when_nobody_decided_and_the_clerk_in_either_order(office: Any, served: str) -> None:
    basis = "§ 6a Abs. 1 GewO i. V. m. § 42a VwVfG"
    late = await office.submit(
        "test-fiktion", {"taetigkeit": "Scherenschleifen"}, applicant=office.business()
    )
    await office.wait_for("case.opened.v1", late)
    await office.request_decision(late)
    await office.fiction(late, basis, "2026-10-01T00:00:00+00:00")
    made = await office.wait_for("decision.made.v2", late)
    assert made["mode"] == "fiction" and made["outcome"] == "granted" and made["decided_by"] == "system"
    assert basis in made["reasons"] and "01.10.2026" in made["reasons"]
    assert made["facts"]["gueltig_ab"] == "2026-10-01" and made["facts"]["gueltig_bis"] == "2031-09-30"
    assert made["facts"]["fiktion_basis"] == basis and made["facts"]["gebuehr"] == "250,00 EUR"
    assert made["recipient"]["organisation"]["name"] == "Mustermann Bau GmbH"
    async with api(office, served, "KVR-I/21") as client:
        after = await client.post(f"{PREFIX}/api/vorgaenge/{late}/entscheidung", json={"outcome": "granted"})
        assert after.status_code == 409 and "Genehmigungsfiktion" in after.json()["detail"]

        # the clerk first: the fiction then only leaves a note in the file
        early = await office.submit(
            "test-fiktion", {"taetigkeit": "Schirmreparatur"}, applicant=office.business()
        )
        await office.wait_for("case.opened.v1", early)
        await office.request_decision(early)

        async def ready() -> bool:
            return "status_zur_entscheidung" in await actions(office, early)

        await eventually(ready)
        refused = await client.post(
            f"{PREFIX}/api/vorgaenge/{early}/entscheidung",
            json={"outcome": "refused", "reasons": "Die Zuverlässigkeit ist nicht nachgewiesen."},
        )
        assert refused.status_code == 201
    await office.wait_for("decision.made.v2", early)
    await office.fiction(early, basis, "2026-10-01T00:00:00+00:00")

    async def noted() -> bool:
        return "fiktion_gegenstandslos" in await actions(office, early)

    await eventually(noted)
    decisions = office.of("decision.made.v2", early)
    assert len(decisions) == 1 and decisions[0]["data"]["mode"] == "clerk"
    assert decisions[0]["data"]["outcome"] == "refused" and decisions[0]["data"]["facts"] == {}

    # a procedure without a fiction: the command only leaves a note
    none = await office.submit("test-mitzeichnung", {"art": "container"})
    await office.wait_for("case.opened.v1", none)
    await office.fiction(none, basis, "2026-10-01T00:00:00+00:00")

    async def ignored() -> bool:
        return "fiktion_gegenstandslos" in await actions(office, none)

    await eventually(ignored)
    assert not office.of("decision.made.v2", none)


async def test_a_changed_version_is_not_opened_and_order_does_not_matter(office: Any) -> None:
    import uuid

    from rathaus.contracts.portal.v2 import ApplicationSubmitted

    # an application of a version whose file changed since: retried, then dead-lettered
    changed = str(uuid.uuid4())
    await office.emit(
        office.portal,
        ApplicationSubmitted(
            case_id=changed,
            service_id="test-automatisch",
            service_version=1,
            procedure_digest="0" * 64,
            applicant=office.person(),
            data={"exemplare": 1},
            submitted_at="2026-11-23T10:15:00+00:00",
        ),
        changed,
    )

    async def dead_lettered() -> bool:
        return office.eakte.consumer.dead_lettered >= 1

    await eventually(dead_lettered)
    assert not office.of("case.opened.v1", changed)
    # the workflow's command before the case is opened: retried until it is
    case_id = str(uuid.uuid4())
    await office.request_decision(case_id, mode="automatic")
    await office.emit(
        office.portal,
        ApplicationSubmitted(
            case_id=case_id,
            service_id="test-automatisch",
            service_version=1,
            procedure_digest=office.eakte.procedures.get("test-automatisch", 1).digest,
            applicant=office.person(),
            data={"exemplare": 1},
            submitted_at="2026-11-23T10:15:00+00:00",
        ),
        case_id,
    )
    made = await office.wait_for("decision.made.v2", case_id)
    assert made["mode"] == "automatic"
