"""The Geschäftsgang over the workspace's pages on a real nats-server: a clerk starts a
Verfügung from the procedure's Muster with a draft decision, a second unit co-signs in its own
inbox, a third takes note with a Stellungnahme, the Schlusszeichnung is the Leitung's and
releases the decision; documents of a running route are locked; a deputy works an absent
colleague's inbox (acting for them in the audit), never a personal case."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from modules.eakte.tests.conftest import HEAD, TAIL, write_procedures
from rathaus.eakte import PREFIX
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.store import audit, beteiligungen, documents
from rathaus.eakte.store_gang import verfuegungen
from rathaus.platform.kernel.consumer import RetryLater
from rathaus.platform.testing import eventually

GANG = """
id = "test-gang"
title = "Testerlaubnis im Geschäftsgang"
unit = "BAU-T/31"
aktenplan = "661.20"

[decision]
cosign = ["KVR-III/11"]
reasons = "Die Nutzung ist verträglich."

[template_texts]
granted = "<p>Erlaubt.</p>"
refused = "<p>Abgelehnt.</p>"

[[routes]]
id = "standard"
title = "Mitzeichnung und Schlusszeichnung"

[[routes.steps]]
number = 1
kind = "mitzeichnung"
unit = "KVR-III/11"
instruction = "Bitte Verkehrsführung prüfen."
due_days = 5

[[routes.steps]]
number = 2
kind = "schlusszeichnung"
role = "leitung"
instruction = "Bitte abschließend zeichnen."

[[form]]
name = "vorhaben"
kind = "group"
label = "Vorhaben"

[[form]]
name = "zweck"
parent = "vorhaben"
label = "Zweck"
"""


@pytest.fixture
def procedure_dir(tmp_path: Path) -> Path:
    folder = write_procedures(tmp_path / "leistungen")
    (folder / "test-gang").mkdir()
    (folder / "test-gang" / "v1.toml").write_text(HEAD + GANG + TAIL.replace("{id}", "test-gang"), "utf-8")
    return folder


def flat(html: str) -> str:
    return " ".join(html.split())


def rows(template_steps: list[dict[str, str]]) -> dict[str, str]:
    form: dict[str, str] = {}
    for i, step in enumerate(template_steps):
        for key, value in step.items():
            form[f"step-{i}-{key}"] = value
    return form


async def trail(office: Any, case_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    async with office.eakte.db.read() as s:
        found = await s.execute(
            sa.select(audit.c.actor, audit.c.action, audit.c.details)
            .where(audit.c.case_id == case_id)
            .order_by(audit.c.seq)
        )
        return [tuple(r) for r in found.all()]  # type: ignore[misc]


async def test_a_verfuegung_with_cosigning_and_final_sign_off_by_the_lead(
    office: Any, served: str, clerk_of: Callable[..., Any]
) -> None:
    case_id = await office.submit("test-gang", {"zweck": "Container"}, applicant=office.business())
    az = (await office.wait_for("case.opened.v1", case_id))["aktenzeichen"]
    await office.request_decision(case_id)
    page_path = f"{PREFIX}/vorgaenge/{case_id}"

    async def up_for_decision() -> bool:
        return any(a == "status_zur_entscheidung" for _, a, _ in await trail(office, case_id))

    await eventually(up_for_decision)
    clerk = await clerk_of("BAU-T/31")
    lead = await clerk_of("BAU-T/31", "leitung")
    cosigner = await clerk_of("KVR-III/11")
    third = await clerk_of("KVR-III/12")

    # the procedure's own Mitzeichnung runs; the clerk cannot decide alone
    r = await clerk.post(f"{page_path}/entscheidung", {"outcome": "granted", "reasons": ""}, page=page_path)
    assert "Die Mitzeichnung durch Straßenverkehrsbehörde" in r.text and "steht noch aus" in r.text
    assert "Mitzeichnung nach dem Verfahren (läuft)" in flat(r.text)
    # the Muster fills the route form
    r = await clerk.post(
        f"{page_path}/geschaeftsgang", {"action": "vorlage", "template": "standard"}, page=page_path
    )
    page = flat(r.text)
    assert (
        'value="Bitte Verkehrsführung prüfen."' in page
        and 'value="Mitzeichnung und Schlusszeichnung"' in page
    )
    due = (date.today() + timedelta(days=5)).isoformat()
    assert f'value="{due}"' in page
    template = [
        {
            "number": "1",
            "kind": "mitzeichnung",
            "unit": "KVR-III/11",
            "instruction": "Bitte prüfen.",
            "due": due,
        },
        {"number": "1", "kind": "kenntnis", "unit": "KVR-III/12", "instruction": "Zur Kenntnis."},
        {"number": "2", "kind": "schlusszeichnung", "unit": "BAU-T/31", "role": "leitung"},
    ]
    # a draft decision without a Schlusszeichnung, or a route that leaves out the co-signing unit
    r = await clerk.post(
        f"{page_path}/geschaeftsgang",
        {"action": "starten", "outcome": "granted", **rows(template[:2])},
        page=page_path,
    )
    assert "Ein Entwurf der Entscheidung braucht eine Schlusszeichnung" in r.text
    r = await clerk.post(
        f"{page_path}/geschaeftsgang",
        {"action": "starten", "outcome": "granted", **rows(template[1:])},
        page=page_path,
    )
    assert "schreibt die Mitzeichnung durch Straßenverkehrsbehörde" in r.text
    r = await clerk.post(
        f"{page_path}/geschaeftsgang",
        {
            "action": "starten",
            "title": "Erlaubnis",
            "template": "standard",
            "outcome": "granted",
            **rows(template),
        },
        page=page_path,
    )
    page = flat(r.text)
    assert "Mitzeichnung nach dem Verfahren (zurückgegeben)" in page  # the Verfügung takes over
    assert "Erlaubnis (läuft)" in page and "Entwurf der Entscheidung: <strong>Bewilligung</strong>" in page
    # the decision is the Schlusszeichnung's now
    r = await clerk.post(f"{page_path}/entscheidung", {"outcome": "granted", "reasons": ""}, page=page_path)
    assert "Die Entscheidung ergeht mit der Schlusszeichnung" in r.text

    async with office.eakte.db.read() as s:
        steps = {
            r.kind: r
            for r in (
                await s.execute(sa.select(beteiligungen).where(beteiligungen.c.case_id == case_id))
            ).all()
            if r.state != "skipped"
        }
    assert steps["mitzeichnung"].state == "current" and steps["kenntnis"].state == "current"
    assert steps["schlusszeichnung"].state == "future"
    final = steps["schlusszeichnung"].pk

    # the lead cannot sign off before the route reaches the step
    r = await lead.post(f"{page_path}/schritte/{final}", {"action": "schlussgezeichnet"}, page=page_path)
    assert "noch nicht an der Reihe" in r.text

    # the co-signing unit works in its own inbox; the third unit takes note with a Stellungnahme
    assert "Zur Mitzeichnung" in (await cosigner.http.get(f"{PREFIX}/")).text
    r = await cosigner.post(
        f"{page_path}/mitzeichnung", {"action": "mitgezeichnet", "note": "Einverstanden."}, page=page_path
    )
    assert "mitgezeichnet: Einverstanden." in flat(r.text)
    inbox = flat((await third.http.get(f"{PREFIX}/")).text)
    assert "Geschäftsgang: an Sie gerichtet" in inbox and az in inbox and "zur Kenntnis" in inbox
    token = await third.token(page_path)
    r = await third.http.post(
        f"{page_path}/schritte/{steps['kenntnis'].pk}",
        data={"action": "zur_kenntnis_genommen", "note": "Keine Bedenken.", "_csrf_token": token},
        files={
            "stellungnahme": (
                "stellungnahme.txt",
                "Die Fläche liegt außerhalb unseres Bereichs.".encode(),
                "text/plain",
            )
        },
    )
    assert "Stellungnahme als Dokument abgelegt" in r.text
    async with office.eakte.db.read() as s:
        filed = (
            await s.execute(
                sa.select(documents.c.text).where(
                    documents.c.case_id == case_id, documents.c.document_type == "stellungnahme"
                )
            )
        ).scalar_one()
    assert filed == "Die Fläche liegt außerhalb unseres Bereichs."
    # a unit with no step neither sees the steps nor works them
    fourth = await clerk_of("KVR-I/21")
    assert (await fourth.http.get(page_path)).status_code == 403
    r = await fourth.post(f"{page_path}/schritte/{final}", {"action": "schlussgezeichnet"}, page=f"{PREFIX}/")
    assert r.status_code == 403

    # the Schlusszeichnung is reserved to the Leitung, which releases the draft decision
    r = await clerk.post(f"{page_path}/schritte/{final}", {"action": "schlussgezeichnet"}, page=page_path)
    assert "ist der Leitung vorbehalten" in r.text
    assert "Geschäftsgang: an Sie gerichtet" in (await lead.http.get(f"{PREFIX}/")).text
    assert "Geschäftsgang: an Sie gerichtet" not in (await clerk.http.get(f"{PREFIX}/")).text  # the lead's
    r = await lead.post(
        f"{page_path}/schritte/{final}",
        {"action": "schlussgezeichnet", "note": "Gezeichnet."},
        page=page_path,
    )
    page = flat(r.text)
    assert "Erlaubnis (abgeschlossen)" in page and "Bewilligt" in page
    made = await office.wait_for("decision.made.v2", case_id)
    lead_name = office.login_of("BAU-T/31", "leitung")[0]
    assert made["outcome"] == "granted" and made["reasons"] == "Die Nutzung ist verträglich."
    actions = [(actor, action) for actor, action, _ in await trail(office, case_id)]
    for expected in (
        (office.login_of("BAU-T/31")[0], "geschaeftsgang_gestartet"),
        (office.login_of("KVR-III/11")[0], "mitgezeichnet"),
        (office.login_of("KVR-III/12")[0], "zur_kenntnis_genommen"),
        (lead_name, "schlussgezeichnet"),
        (lead_name, "geschaeftsgang_abgeschlossen"),
        (lead_name, "entscheidung"),
    ):
        assert expected in actions, expected
    assert actions.index((lead_name, "schlussgezeichnet")) < actions.index((lead_name, "entscheidung"))
    assert await EAkte(office.eakte).verify_audit()


async def test_documents_of_a_running_route_are_locked_and_a_deputy_works_an_absent_inbox(
    office: Any, served: str, clerk_of: Callable[..., Any]
) -> None:
    eakte = EAkte(office.eakte)
    case_id = await office.submit("test-gang", {"zweck": "Gerüst"}, applicant=office.business())
    private_id = await office.submit("test-gang", {"zweck": "Privat"}, applicant=office.business())
    az = (await office.wait_for("case.opened.v1", case_id))["aktenzeichen"]
    private_az = (await office.wait_for("case.opened.v1", private_id))["aktenzeichen"]
    page_path = f"{PREFIX}/vorgaenge/{case_id}"
    absent_name, _ = office.login_of("BAU-T/31")
    absent = await clerk_of("BAU-T/31")
    deputy = await clerk_of("KVR-III/12")
    deputy_name, _ = office.login_of("KVR-III/12")

    # a Vermerk filed as a document travels in a route addressed to the clerk in person
    values = {
        "document_id": f"vermerk-{case_id}",
        "case_id": case_id,
        "sha256": "1" * 64,
        "blob": {"sha256": "1" * 64, "key": "eakte/x", "size": 1, "media_type": "text/plain"},
        "document_type": "vermerk",
        "title": "Vermerk zur Ortsbesichtigung",
        "medium": "elektronisch",
        "source": "test",
        "received_at": "2026-11-30T09:00:00+00:00",
        "text": "Ortsbesichtigung ohne Befund.",
    }
    async with office.eakte.transaction() as uow:
        await eakte._store_document(uow, dict(values))
    r = await absent.post(
        f"{page_path}/geschaeftsgang",
        {
            "action": "starten",
            "title": "Vermerk zur Kenntnis",
            "documents": f"vermerk-{case_id}",
            "step-0-number": "1",
            "step-0-kind": "bearbeitung",
            "step-0-person": absent_name,
            "step-0-instruction": "Bitte Auflagen ergänzen.",
        },
        page=page_path,
    )
    assert "Vermerk zur Kenntnis (läuft)" in flat(r.text) and "(gesperrt)" in r.text
    # a new version of the locked document waits (the event is retried) until the route ends
    with pytest.raises(RetryLater, match="im laufenden Geschäftsgang gesperrt"):
        async with office.eakte.transaction() as uow:
            await eakte._store_document(uow, {**values, "sha256": "2" * 64})

    # the private case is marked personal
    r = await absent.post(
        f"{PREFIX}/vorgaenge/{private_id}/persoenlich",
        {"persoenlich": "1"},
        page=f"{PREFIX}/vorgaenge/{private_id}",
    )
    assert "Dieser Vorgang ist von jeder Vertretung ausgenommen" in r.text

    # the absent clerk names a deputy; the deputy takes over their inbox
    today = date.today()
    r = await absent.post(
        f"{PREFIX}/vertretung",
        {"deputy": absent_name, "begin": today.isoformat(), "end": today.isoformat()},
    )
    assert "Sie können sich nicht selbst vertreten" in r.text
    r = await absent.post(
        f"{PREFIX}/vertretung",
        {"deputy": deputy_name, "begin": today.isoformat(), "end": (today + timedelta(days=3)).isoformat()},
    )
    assert "Vertretung durch" in r.text
    # before taking over, the deputy (another unit) sees nothing of it
    assert (await deputy.http.get(page_path)).status_code == 403
    page = flat((await deputy.http.get(f"{PREFIX}/vertretung")).text)
    assert "Sie vertreten heute" in page
    r = await deputy.post(
        f"{PREFIX}/vertretung/uebernehmen", {"absent": absent_name}, page=f"{PREFIX}/vertretung"
    )
    inbox = flat(r.text)
    assert f"In Vertretung für {absent_name}" in inbox and az in inbox
    assert f"in Vertretung für {absent_name}" in inbox  # the step addressed to the absent clerk
    assert private_az not in inbox
    assert (await deputy.http.get(f"{PREFIX}/vorgaenge/{private_id}")).status_code == 403
    r = await deputy.post(
        f"{PREFIX}/vorgaenge/{private_id}/wiedervorlage",
        {"day": (today + timedelta(days=1)).isoformat(), "note": "x"},
        page=page_path,
    )
    assert r.status_code == 403

    # the deputy works the absent clerk's step: audited as acting for them
    async with office.eakte.db.read() as s:
        step_pk = (
            await s.execute(sa.select(beteiligungen.c.pk).where(beteiligungen.c.case_id == case_id))
        ).scalar_one()
    r = await deputy.post(
        f"{page_path}/schritte/{step_pk}",
        {"action": "bearbeitet", "note": "Auflagen ergänzt."},
        page=page_path,
    )
    assert "Vermerk zur Kenntnis (abgeschlossen)" in flat(r.text)
    worked = [d for actor, action, d in await trail(office, case_id) if action == "schritt_bearbeitet"]
    assert worked and worked[0]["in_vertretung_fuer"] == absent_name
    assert [a for a, action, _ in await trail(office, case_id) if action == "schritt_bearbeitet"] == [
        deputy_name
    ]
    # the route is through: the document takes new versions again
    async with office.eakte.transaction() as uow:
        await eakte._store_document(uow, {**values, "sha256": "2" * 64})
    async with office.eakte.db.read() as s:
        versions = (
            await s.execute(sa.select(sa.func.count()).where(documents.c.document_id == f"vermerk-{case_id}"))
        ).scalar_one()
        route = (
            await s.execute(sa.select(verfuegungen.c.status).where(verfuegungen.c.case_id == case_id))
        ).scalar_one()
    assert versions == 2 and route == "abgeschlossen"
    # back to their own inbox: the absent clerk's cases are gone again
    r = await deputy.post(f"{PREFIX}/vertretung/verlassen", {}, page=f"{PREFIX}/")
    assert az not in r.text
    assert await eakte.verify_audit()
