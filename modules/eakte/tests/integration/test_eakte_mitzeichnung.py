"""Co-signing (Mitzeichnung) by a second unit, through the workspace's pages with two staff
logins on a real server: the co-signing unit sees the case "zur Mitzeichnung", objects,
co-signs after all; the responsible unit cannot decide meanwhile; a third unit sees nothing.
The case page shows the data by the procedure's groups and repeated rows."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa

from rathaus.eakte import PREFIX
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.store import audit, beteiligungen
from rathaus.platform.testing import eventually

DATA = {
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
OBJECTION = "Die Feuerwehrzufahrt wäre versperrt; bitte Container auf die Nordseite."


def flat(html: str) -> str:
    return " ".join(html.split())


async def test_co_signing_by_a_second_unit_over_the_pages(
    office: Any, served: str, clerk_of: Callable[..., Any]
) -> None:
    case_id = await office.submit(
        "test-mitzeichnung",
        DATA,
        applicant=office.business(),
        warnings=["Die Fläche liegt in einer Fußgängerzone."],
    )
    opened = await office.wait_for("case.opened.v1", case_id)
    az = opened["aktenzeichen"]
    await office.request_decision(case_id)

    async def asked() -> bool:
        async with office.eakte.db.read() as s:
            found = await s.execute(
                sa.select(beteiligungen.c.status).where(beteiligungen.c.case_id == case_id)
            )
            return list(found.scalars()) == ["angefordert"]

    await eventually(asked)
    page_path = f"{PREFIX}/vorgaenge/{case_id}"
    responsible = await clerk_of("BAU-T/31")
    cosigner = await clerk_of("KVR-III/11")
    third = await clerk_of("KVR-III/12")

    # the responsible unit: the case page from the procedure definition
    page = flat((await responsible.http.get(page_path)).text)
    assert "Verfahren: Testflächen auf öffentlichem Grund, Version 1, gültig ab 01.01.2026" in page
    for shown in (
        "Mustermann Bau GmbH (GmbH), HRB 4711",  # the organisation
        "Handelnd für die Organisation</dt>",  # and the member acting for it
        "Absetzcontainer",  # a code list's name, not its code
        "01.07.2026",  # dates in German
        "462,50 €",  # money
        '<h4 class="kern-label">Ort der Nutzung</h4>',  # a nested group
        '<h4 class="kern-label">Flächen</h4>',  # a repeating group and its rows
        '<h5 class="kern-label">Fläche 1</h5>',
        '<h5 class="kern-label">Fläche 2</h5>',
        "12,5",
        "Die Fläche liegt in einer Fußgängerzone.",  # the warning the applicant submitted anyway
        "Die Nutzung beeinträchtigt den Verkehr nicht unzumutbar.",  # proposed reasons
        "Mitzeichnung ausstehend",
        'value="refused"',  # refusable
    ):
        assert shown in page, shown
    # no decision while the co-signature is pending: on the page and over the API
    r = await responsible.post(
        f"{page_path}/entscheidung", {"outcome": "granted", "reasons": ""}, page=page_path
    )
    assert (
        "Die Mitzeichnung durch Straßenverkehrsbehörde – Verkehrsanordnungen (KVR-III/11) steht noch aus"
        in r.text
    )
    user, password = office.login_of("BAU-T/31")
    basic = {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
    async with httpx.AsyncClient(base_url=served, headers=basic) as program:
        r = await program.post(f"{PREFIX}/api/vorgaenge/{case_id}/entscheidung", json={"outcome": "granted"})
        assert r.status_code == 409 and "steht noch aus" in r.json()["detail"]

    # the co-signing unit: the case in its inbox, marked, readable
    inbox = flat((await cosigner.http.get(f"{PREFIX}/")).text)
    assert "Zur Mitzeichnung" in inbox and az in inbox
    page = flat((await cosigner.http.get(page_path)).text)
    assert "Ihre Einheit (KVR-III/11) ist an diesem Vorgang zur Mitzeichnung beteiligt" in page
    assert "Fläche 2" in page and "Mitzeichnung abgeben" in page
    assert "Entscheidung treffen" not in page
    # it cannot decide
    r = await cosigner.post(f"{page_path}/entscheidung", {"outcome": "granted"}, page=page_path)
    assert r.status_code == 403
    # an objection needs a note of 20 characters
    r = await cosigner.post(
        f"{page_path}/mitzeichnung", {"action": "einwaende", "note": "Nein."}, page=page_path
    )
    assert "Einwände brauchen eine Begründung (mindestens 20 Zeichen)" in r.text
    r = await cosigner.post(
        f"{page_path}/mitzeichnung", {"action": "einwaende", "note": OBJECTION}, page=page_path
    )
    assert "Einwände erhoben" in r.text and OBJECTION in r.text

    # the responsible unit sees the objection; a grant is refused, a refusal would not be
    page = flat((await responsible.http.get(page_path)).text)
    assert OBJECTION in page and "Einwände: Straßenverkehrsbehörde" in page
    r = await responsible.post(
        f"{page_path}/entscheidung", {"outcome": "granted", "reasons": ""}, page=page_path
    )
    assert "hat Einwände erhoben. Bewilligen können Sie erst" in r.text

    # a third unit neither sees nor opens the case, nor its documents, nor co-signs
    assert (await third.http.get(page_path)).status_code == 403
    assert az not in (await third.http.get(f"{PREFIX}/")).text
    r = await third.post(
        f"{page_path}/mitzeichnung", {"action": "mitgezeichnet", "note": ""}, page=f"{PREFIX}/"
    )
    assert r.status_code == 403

    # co-signed after all: now the grant goes through
    r = await cosigner.post(
        f"{page_path}/mitzeichnung",
        {"action": "mitgezeichnet", "note": "Nach Umplanung einverstanden."},
        page=page_path,
    )
    assert "Mitgezeichnet" in r.text
    r = await responsible.post(
        f"{page_path}/entscheidung", {"outcome": "granted", "reasons": ""}, page=page_path
    )
    assert "Bewilligt" in r.text
    made = await office.wait_for("decision.made.v2", case_id)
    assert made["outcome"] == "granted" and made["mode"] == "clerk" and made["unit"] == "BAU-T/31"
    assert made["facts"] == {"gebuehr": "462,50 EUR", "gebuehr_cent": "46250"}
    assert made["data"]["flaechen"][0]["bezeichnung"] == "Container vor Hausnummer 3"
    assert made["recipient"]["organisation"]["name"] == "Mustermann Bau GmbH"

    # afterwards the co-signing unit still reads the case, without a form
    page = flat((await cosigner.http.get(page_path)).text)
    assert "Bewilligt" in page and "Mitzeichnung abgeben" not in page
    r = await cosigner.post(
        f"{page_path}/mitzeichnung", {"action": "einwaende", "note": OBJECTION}, page=f"{PREFIX}/"
    )
    assert "bereits mitgezeichnet" in r.text or "bereits entschieden" in r.text

    # everything in the audit chain
    async with office.eakte.db.read() as s:
        trail = (
            await s.execute(
                sa.select(audit.c.actor, audit.c.action)
                .where(audit.c.case_id == case_id)
                .order_by(audit.c.seq)
            )
        ).all()
    cosigner_name = office.login_of("KVR-III/11")[0]
    assert ("system", "mitzeichnung_angefordert") in trail
    assert (cosigner_name, "einwaende_erhoben") in trail and (cosigner_name, "mitgezeichnet") in trail
    assert (cosigner_name, "vorgang_eingesehen") in trail
    assert [a for _, a in trail].index("einwaende_erhoben") < [a for _, a in trail].index("entscheidung")
    assert await EAkte(office.eakte).verify_audit()
