"""A file's lifecycle on a real nats-server through the workspace's pages: zdA verfügen with
day, Bewertungsvorschlag and Aufbewahrungsende, the closed case read-only for staff while a
letter that arrives is filed and marked, reopening by the Leitung; Stornierung (no permit by
fiction afterwards); Umschreiben with the Aktenzeichen history and the old Aktenzeichen
still finding the case; the Aktenplan administration of the records manager."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from rathaus.contracts.input.v1 import DocumentRouted
from rathaus.contracts.platform.v1 import DecisionOverdue
from rathaus.eakte import PREFIX
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.store import aktenplan, aktenzeichen_historie, audit, decisions, documents, vorgaenge
from rathaus.platform.kernel.calendar import munich_day
from rathaus.platform.testing import eventually

FIKTION = {"taetigkeit": "Verkauf von Textilien auf Märkten"}
REOPEN = "Widerspruch der Antragstellerin eingegangen; Vorgang wird fortgeführt."
STORNO = "Doppelt angelegt: derselbe Antrag liegt bereits als eigener Vorgang vor."
MOVE = "Falsch zugeordnet: es handelt sich um eine Gewerbeanmeldung."


def flat(html: str) -> str:
    return " ".join(html.split())


async def case_of(office: Any, case_id: str) -> dict[str, Any]:
    async with office.eakte.db.read() as s:
        return dict(
            (await s.execute(sa.select(vorgaenge).where(vorgaenge.c.case_id == case_id))).mappings().one()
        )


async def actions(office: Any, case_id: str) -> list[tuple[str, str]]:
    async with office.eakte.db.read() as s:
        rows = await s.execute(
            sa.select(audit.c.actor, audit.c.action).where(audit.c.case_id == case_id).order_by(audit.c.seq)
        )
        return [(a, b) for a, b in rows.all()]


async def opened(
    office: Any, service: str = "test-fiktion", data: dict[str, Any] | None = None
) -> tuple[str, str]:
    applicant = office.business() if service == "test-fiktion" else office.person()
    case_id = await office.submit(service, data or FIKTION, applicant=applicant)
    az = (await office.wait_for("case.opened.v1", case_id))["aktenzeichen"]
    return case_id, az


async def test_zda_closes_a_decided_case_read_only_and_the_leitung_reopens_it(
    office: Any, clerk_of: Callable[..., Any]
) -> None:
    case_id, _ = await opened(office)
    path = f"{PREFIX}/vorgaenge/{case_id}"
    clerk = await clerk_of("KVR-I/21")
    lead = await clerk_of("KVR-I/21", "leitung")

    # not before the decision
    page = flat((await clerk.http.get(path)).text)
    assert "Schriftgut: Lebenszyklus" in page and "zdA verfügen" not in page
    r = await clerk.post(f"{path}/zda", {"datum": ""}, page=path)
    assert "erst, wenn er entschieden oder der Bescheid zugestellt ist" in r.text
    await office.request_decision(case_id)

    async def ready() -> bool:
        return (await case_of(office, case_id))["status"] == "zur_entscheidung"

    await eventually(ready)
    r = await clerk.post(f"{path}/entscheidung", {"outcome": "granted", "reasons": ""}, page=path)
    assert "Bewilligt" in r.text
    today = munich_day(datetime.now(UTC).isoformat())
    page = flat(r.text)
    assert "zdA verfügen" in page and "Stornieren" not in page  # a decided case is not cancelled
    # the day: not in the future; the plan says B, so the case worker may propose A
    future = date(today.year + 1, 1, 1).isoformat()
    r = await clerk.post(f"{path}/zda", {"datum": future, "bewertung": "A"}, page=path)
    assert "Das zdA-Datum darf nicht in der Zukunft liegen." in r.text
    r = await clerk.post(f"{path}/zda", {"datum": today.isoformat(), "bewertung": "A"}, page=path)
    page = flat(r.text)
    end = date(today.year + 10, 12, 31)
    assert f"zu den Akten verfügt am {today.strftime('%d.%m.%Y')}" in page
    assert "A (archivwürdig)" in page and end.strftime("%d.%m.%Y") in page
    row = await case_of(office, case_id)
    assert row["lifecycle"] == "zda" and row["zda_at"] == today.isoformat()
    assert row["bewertungsvorschlag"] == "A" and row["aufbewahrungsende"] == end.isoformat()

    # read-only: no message, no second zdA; the forms are gone
    assert "Nachricht senden" not in page and "zdA verfügen</span>" not in page
    r = await clerk.post(f"{path}/nachricht", {"subject": "Hallo", "text": "Noch etwas."}, page=path)
    assert "zu den Akten verfügt (zdA) und kann nicht mehr bearbeitet werden" in r.text
    r = await clerk.post(f"{path}/zda", {"datum": ""}, page=path)
    assert "kann nicht mehr bearbeitet werden" in r.text

    # a letter arrives for the closed case: filed, and the case marked for its case worker
    blob = await office.input.blobs.put(
        "input", b"%PDF-1.7 brief", media_type="application/pdf", filename="b.pdf"
    )
    await office.emit(
        office.input,
        DocumentRouted(
            document_id="spaet-1",
            case_id=case_id,
            unit="KVR-I/21",
            document_type="schreiben",
            title="Schreiben der Antragstellerin",
            medium="papier",
            source="poststelle",
            blob=blob,
            text="Widerspruch gegen die Auflage",
            received_at="2026-11-30T09:00:00+00:00",
        ),
        case_id,
    )

    async def marked() -> bool:
        return bool((await case_of(office, case_id))["eingang_nach_abschluss"])

    await eventually(marked)
    async with office.eakte.db.read() as s:
        filed = (
            await s.execute(sa.select(documents.c.filed_at).where(documents.c.document_id == "spaet-1"))
        ).scalar()
    assert filed is not None
    assert "Eingang nach Abschluss" in (await clerk.http.get(f"{PREFIX}/")).text
    page = flat((await clerk.http.get(path)).text)
    assert "Eingang nach Abschluss" in page and "Schreiben der Antragstellerin" in page

    # reopening: not by the case worker; the Leitung with a reason
    assert "Vorgang wieder öffnen</span>" not in page
    r = await clerk.post(f"{path}/zda-aufheben", {"grund": REOPEN}, page=path)
    assert "Einen abgeschlossenen Vorgang wieder öffnen kann nur die Leitung." in r.text
    r = await lead.post(f"{path}/zda-aufheben", {"grund": "Darum."}, page=path)
    assert "mindestens 20 Zeichen" in r.text
    r = await lead.post(f"{path}/zda-aufheben", {"grund": REOPEN}, page=path)
    assert "<strong>Offen</strong>" in r.text
    row = await case_of(office, case_id)
    assert row["lifecycle"] == "offen" and row["zda_at"] is None and row["aufbewahrungsende"] is None
    assert row["bewertungsvorschlag"] is None and row["eingang_nach_abschluss"] is None
    trail = await actions(office, case_id)
    clerk_name, lead_name = office.login_of("KVR-I/21")[0], office.login_of("KVR-I/21", "leitung")[0]
    assert (clerk_name, "zda_verfuegt") in trail and (lead_name, "zda_aufgehoben") in trail
    assert ("system", "eingang_nach_abschluss") in trail
    assert await EAkte(office.eakte).verify_audit()


async def test_a_cancelled_case_stays_visible_and_fiction_grants_nothing(
    office: Any, clerk_of: Callable[..., Any]
) -> None:
    case_id, _ = await opened(office)
    path = f"{PREFIX}/vorgaenge/{case_id}"
    clerk = await clerk_of("KVR-I/21")
    r = await clerk.post(f"{path}/stornierung", {"grund": "Versehen"}, page=path)
    assert "Eine Stornierung braucht eine Begründung (mindestens 20 Zeichen)." in r.text
    r = await clerk.post(f"{path}/stornierung", {"grund": STORNO}, page=path)
    page = flat(r.text)
    assert "<strong>Storniert</strong>" in page and STORNO in page
    row = await case_of(office, case_id)
    today = munich_day(row["opened_at"])
    assert row["lifecycle"] == "storniert" and row["bewertungsvorschlag"] == "V"
    assert row["aufbewahrungsende"] == date(today.year + 10, 12, 31).isoformat()  # the plan's 10 years
    # no decision on a cancelled case, by the clerk or by fiction; the deadline is recorded
    r = await clerk.post(f"{path}/entscheidung", {"outcome": "granted", "reasons": ""}, page=path)
    assert "Der Vorgang ist storniert und kann nicht mehr bearbeitet werden." in r.text
    await office.request_decision(case_id)
    await office.emit(
        office.workflow,
        DecisionOverdue(case_id=case_id, unit="", level=2, due_at="2026-11-01T00:00:00+00:00"),
        case_id,
    )
    await office.fiction(case_id, "§ 42a VwVfG", "2026-11-01T00:00:00+00:00")

    async def all_recorded() -> bool:
        return (await actions(office, case_id)).count(("system", "eingang_nach_abschluss")) == 3

    await eventually(all_recorded)
    async with office.eakte.db.read() as s:
        assert (await s.execute(sa.select(decisions).where(decisions.c.case_id == case_id))).first() is None
    row = await case_of(office, case_id)
    assert row["status"] == "eingegangen" and row["eingang_nach_abschluss"] and row["overdue_level"] == 0
    assert not office.of("decision.made.v2", case_id)


async def test_umschreiben_keeps_the_aktenzeichen_history_and_the_old_one_finds_the_case(
    office: Any, clerk_of: Callable[..., Any]
) -> None:
    case_id, old = await opened(office)
    path = f"{PREFIX}/vorgaenge/{case_id}"
    clerk = await clerk_of("KVR-I/21")
    lead = await clerk_of("KVR-I/21", "leitung")
    records = await clerk_of("POST", "registratur")
    page = (await clerk.http.get(path)).text
    assert '<option value="811.10"' in page and '<option value="523.11"' not in page  # own unit only

    # an entry a procedure files under is not stillgelegt; a new one is, and then neither
    # offered nor accepted
    entry = f"{PREFIX}/aktenplan/eintrag/811.10"
    r = await records.post(f"{entry}/stilllegen", {}, page=entry)
    assert "legen neue Vorgänge unter diesem Eintrag an" in r.text
    await records.post(
        f"{PREFIX}/aktenplan", {"parent": "811", "code": "811.70", "title": "Neu", "unit": "KVR-I/21"}
    )
    assert '<option value="811.70"' in (await clerk.http.get(path)).text
    entry = f"{PREFIX}/aktenplan/eintrag/811.70"
    await records.post(f"{entry}/stilllegen", {}, page=entry)
    assert '<option value="811.70"' not in (await clerk.http.get(path)).text
    r = await clerk.post(f"{path}/umschreiben", {"ziel": "811.70", "grund": MOVE}, page=path)
    assert "ist stillgelegt oder heute nicht gültig" in r.text

    r = await clerk.post(f"{path}/umschreiben", {"ziel": "811.10", "grund": MOVE}, page=path)
    row = await case_of(office, case_id)
    new = row["aktenzeichen"]
    assert new.startswith(f"811.10-{date.today().year}-") and row["aktenplan"] == "811.10"
    page = flat(r.text)
    assert f"Vorgang {new}" in page and "Frühere Aktenzeichen (Umschreibungen)" in page
    assert old in page and MOVE in page
    # the old Aktenzeichen still finds the case
    r = await clerk.http.get(f"{PREFIX}/aktenzeichen/{old}")
    assert str(r.url).endswith(path) and f"Vorgang {new}" in r.text
    assert (await clerk.http.get(f"{PREFIX}/aktenzeichen/999.99-2026-000001")).status_code == 404

    # to another unit's entry: the case worker may not, the Leitung hands it over
    r = await clerk.post(f"{path}/umschreiben", {"ziel": "523.11", "grund": MOVE}, page=path)
    assert "kann nur die Leitung" in r.text
    r = await lead.post(f"{path}/umschreiben", {"ziel": "523.11", "grund": MOVE}, page=path)
    assert r.status_code == 403  # the case left the unit: its page is the other unit's now
    row = await case_of(office, case_id)
    assert row["unit"] == "KVR-III/12" and row["aktenzeichen"].startswith("523.11-")
    async with office.eakte.db.read() as s:
        history = (
            await s.execute(
                sa.select(
                    aktenzeichen_historie.c.old, aktenzeichen_historie.c.new, aktenzeichen_historie.c.by
                )
                .where(aktenzeichen_historie.c.case_id == case_id)
                .order_by(aktenzeichen_historie.c.pk)
            )
        ).all()
    lead_name = office.login_of("KVR-I/21", "leitung")[0]
    assert [tuple(h) for h in history] == [
        (old, new, office.login_of("KVR-I/21")[0]),
        (new, row["aktenzeichen"], lead_name),
    ]
    parking = await clerk_of("KVR-III/12")
    r = await parking.http.get(f"{PREFIX}/aktenzeichen/{old}")
    assert f"Vorgang {row['aktenzeichen']}" in r.text and old in r.text
    assert (lead_name, "umgeschrieben") in await actions(office, case_id)


async def test_the_records_manager_administers_the_aktenplan(
    office: Any, clerk_of: Callable[..., Any]
) -> None:
    records = await clerk_of("POST", "registratur")
    clerk = await clerk_of("KVR-I/21")
    lead = await clerk_of("KVR-I/21", "leitung")
    plan = f"{PREFIX}/aktenplan"
    for other in (clerk, lead):
        assert (await other.http.get(plan)).status_code == 403
        r = await other.http.post(
            f"{plan}/eintrag/811.10/stilllegen", data={"_csrf_token": await other.token(f"{PREFIX}/")}
        )
        assert r.status_code == 403
    page = flat((await records.http.get(plan)).text)
    assert 'href="/arbeitsplatz/aktenplan"' in (await records.http.get(f"{PREFIX}/")).text
    # the tree with own and effective fields: 811.30 says B/10 itself, 811 inherits from 8
    assert "811.30 Reisegewerbekarten" in page and "B (bewerten), 10 Jahre" in page

    # a new entry: errors by field, then added
    r = await records.post(plan, {"parent": "811", "code": "124.99", "title": "", "unit": "KVR-I/21"})
    text = flat(r.text)
    assert (
        "Der Eintrag wurde nicht angelegt" in text
        and "fortsetzen" in text
        and "Bitte geben Sie einen Titel an." in text
    )
    r = await records.post(
        plan,
        {
            "parent": "811",
            "code": "811.50",
            "title": "Versteigerer",
            "unit": "KVR-I/21",
            "aussonderungsart": "",
            "aufbewahrung": "abc",
        },
    )
    assert "Bitte geben Sie 1 bis 200 Jahre an" in r.text
    r = await records.post(
        plan,
        {
            "parent": "811",
            "code": "811.50",
            "title": "Versteigerer",
            "unit": "KVR-I/21",
            "aussonderungsart": "A",
            "aufbewahrung": "unbefristet",
        },
    )
    assert "Eintrag 811.50 gespeichert." in r.text
    # rename and change the records fields (empty = inherited from 8: B, 10 years)
    entry = f"{plan}/eintrag/811.50"
    r = await records.post(
        entry, {"title": "Versteigerergewerbe", "aussonderungsart": "", "aufbewahrung": ""}
    )
    assert "811.50 Versteigerergewerbe" in r.text
    async with office.eakte.db.read() as s:
        row = (await s.execute(sa.select(aktenplan).where(aktenplan.c.code == "811.50"))).mappings().one()
    assert (
        row["title"] == "Versteigerergewerbe"
        and row["aussonderungsart"] is None
        and row["aufbewahrung"] is None
    )
    page = flat((await records.http.get(entry)).text)
    assert "B (bewerten), Aufbewahrung 10 Jahre" in page and "Eintrag löschen" in page
    # a case worker can now move a case there; stillgelegt, not any more
    case_id, _ = await opened(office)
    case_page = f"{PREFIX}/vorgaenge/{case_id}"
    assert '<option value="811.50"' in (await clerk.http.get(case_page)).text
    r = await records.post(f"{entry}/stilllegen", {}, page=entry)
    assert "Eintrag reaktivieren" in r.text
    r = await clerk.post(f"{case_page}/umschreiben", {"ziel": "811.50", "grund": MOVE}, page=case_page)
    assert "stillgelegt" in r.text
    r = await records.post(f"{entry}/reaktivieren", {}, page=entry)
    r = await clerk.post(f"{case_page}/umschreiben", {"ziel": "811.50", "grund": MOVE}, page=case_page)
    assert "811.50-" in r.text

    # a used entry is not deleted: 811.50 holds a case now, 811.30 is named by a procedure
    page = flat((await records.http.get(entry)).text)
    assert "Löschen nicht möglich" in page and "Frühere Aktenzeichen" not in page
    r = await records.post(f"{entry}/loeschen", {}, page=entry)
    assert "Der Eintrag wird verwendet und kann nicht gelöscht werden" in r.text
    r = await records.post(f"{plan}/eintrag/811.30/stilllegen", {}, page=f"{plan}/eintrag/811.30")
    assert "„Testerlaubnis mit Fiktion“ (811.30) legen neue Vorgänge unter diesem Eintrag an" in flat(r.text)
    # the records manager's choice stands: fields cleared to inherit are not refilled from the
    # procedure data on the next start
    r = await records.post(
        f"{plan}/eintrag/811.30", {"title": "Reisegewerbekarten", "aussonderungsart": "", "aufbewahrung": ""}
    )
    assert "Eintrag 811.30 gespeichert." in r.text
    await EAkte(office.eakte).sync_organisation()
    async with office.eakte.db.read() as s:
        row = (await s.execute(sa.select(aktenplan).where(aktenplan.c.code == "811.30"))).mappings().one()
    assert row["aussonderungsart"] is None and row["aufbewahrung"] is None and row["verwaltet_am"]
    # an unused one is
    await records.post(plan, {"parent": "811", "code": "811.60", "title": "Irrtum", "unit": ""})
    r = await records.post(f"{plan}/eintrag/811.60/loeschen", {}, page=f"{plan}/eintrag/811.60")
    assert "Der Eintrag wurde gelöscht." in r.text and "811.60" not in r.text

    async with office.eakte.db.read() as s:
        trail = (
            await s.execute(
                sa.select(audit.c.actor, audit.c.action).where(audit.c.action.like("aktenplan_%"))
            )
        ).all()
    assert {a for _, a in trail} >= {
        "aktenplan_eintrag_angelegt",
        "aktenplan_eintrag_geaendert",
        "aktenplan_eintrag_stillgelegt",
        "aktenplan_eintrag_reaktiviert",
        "aktenplan_eintrag_geloescht",
    }
    assert {a for a, _ in trail} == {"registratur"}
    assert await EAkte(office.eakte).verify_audit()
