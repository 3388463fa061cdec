"""The staff side of the two-way Postkorb on the real bus: a message from a template with a
Nachforderung, its errors, the reply filed from input management, the thread on the case
page, the workflow's deadline events; another unit may not write."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from rathaus.contracts.input.v1 import ReplyRouted, RoutedDocument
from rathaus.contracts.platform.v1 import DecisionDeadlineChanged, DocumentsOverdue
from rathaus.eakte import PREFIX
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.store import audit, documents, nachrichten, vorgaenge
from rathaus.platform.testing import eventually

PARKEN = {
    "given_name": "Erika",
    "family_name": "Mustermann",
    "kennzeichen": "M-EM 1964",
    "parkzone": "Schlachthofviertel",
}


async def actions(office: Any, case_id: str) -> list[str]:
    async with office.eakte.db.read() as s:
        rows = await s.execute(
            sa.select(audit.c.action).where(audit.c.case_id == case_id).order_by(audit.c.seq)
        )
        return list(rows.scalars())


async def test_a_nachforderung_is_sent_filed_answered_and_its_deadlines_recorded(
    office: Any, clerk_of: Callable[..., Any]
) -> None:
    case_id = await office.submit("bewohnerparkausweis", PARKEN)
    opened = await office.wait_for("case.opened.v1", case_id)
    clerk = await clerk_of("KVR-III/12")
    page_path = f"{PREFIX}/vorgaenge/{case_id}"
    page = (await clerk.http.get(page_path)).text
    assert "Nachricht an Antragsteller/in" in page and "Noch keine Nachrichten." in page
    assert "Nachforderung von Unterlagen" in page  # a template from nachrichten.toml
    assert 'value="fahrzeugschein"' in page  # the form's file field may be requested
    proposed = re.search(r'name="deadline" value="([0-9-]+)"', page)
    assert proposed and date.fromisoformat(proposed.group(1)) >= date.today() + timedelta(days=10)

    path = f"{page_path}/nachricht"
    filled = await clerk.post(
        path,
        {"action": "vorlage", "template": "unterlagen_fehlen", "documents": "fahrzeugschein"},
        page=page_path,
    )
    assert opened["aktenzeichen"] in filled.text  # the template filled in for the case
    assert "- Zulassungsbescheinigung Teil I (Fahrzeugschein)" in filled.text
    assert "Bitte reichen Sie Unterlagen nach" in filled.text

    refused = await clerk.post(
        path,
        {
            "action": "senden",
            "subject": "",
            "text": "Bitte",
            "documents": "fahrzeugschein",
            "deadline": "2020-01-01",
        },
        page=page_path,
    )
    assert "Bitte geben Sie einen Betreff an." in refused.text
    assert "Die Frist muss nach dem heutigen Tag liegen." in refused.text
    assert 'href="#nachricht-subject"' in refused.text  # the error summary links to the field
    assert not office.of("message.sent.v1", case_id)

    deadline = (date.today() + timedelta(days=14)).isoformat()
    sent = await clerk.post(
        path,
        {
            "action": "senden",
            "template": "unterlagen_fehlen",
            "subject": "Bitte reichen Sie Unterlagen nach",
            "text": "Uns fehlt der Fahrzeugschein.",
            "documents": "fahrzeugschein",
            "others": "Mietvertrag\n",
            "deadline": deadline,
        },
        page=page_path,
    )
    assert sent.status_code == 200
    message = await office.wait_for("message.sent.v1", case_id)
    requested = await office.wait_for("documents.requested.v1", case_id)
    assert message["text"] == "Uns fehlt der Fahrzeugschein." and message["deadline"] == deadline
    assert [r["document_type"] for r in message["requested"]] == ["fahrzeugschein", "nachweis"]
    assert message["template"] == "unterlagen_fehlen" and message["aktenzeichen"] == opened["aktenzeichen"]
    assert requested == {
        "case_id": case_id,
        "request_id": message["message_id"],
        "service_id": "bewohnerparkausweis",
        "unit": "KVR-III/12",
        "count": 2,
        "deadline": deadline,
        "grace_days": 7.0,  # nachrichten.toml's [leistung.bewohnerparkausweis]
        "requested_at": requested["requested_at"],
    }
    filed = await office.wait_for("document.filed.v1", case_id)
    assert filed["document_type"] == "nachricht"
    assert "nachricht_gesendet" in await actions(office, case_id)

    again = await clerk.post(
        path,
        {
            "action": "senden",
            "subject": "Noch etwas",
            "text": "Und die Vollmacht.",
            "others": "Vollmacht",
            "deadline": deadline,
        },
        page=page_path,
    )
    assert "Es ist bereits eine Nachforderung offen." in again.text

    # the workflow rests the decision deadline, then the reminder's level 1
    workflow = office.workflow
    at = "2026-11-30T10:00:00+00:00"
    await office.emit(
        workflow, DecisionDeadlineChanged(case_id=case_id, unit="KVR-III/12", paused=True, at=at), case_id
    )
    await office.emit(
        workflow,
        DocumentsOverdue(
            case_id=case_id, request_id=message["message_id"], unit="KVR-III/12", level=1, deadline=deadline
        ),
        case_id,
    )

    async def reminded() -> bool:
        return "nachforderung_erinnert" in await actions(office, case_id)

    await eventually(reminded, timeout=30)

    # the reply, as input management routes it
    blob = await office.input.blobs.put(
        "input", b"%PDF-1.7 fs", media_type="application/pdf", filename="fs.pdf"
    )
    reply_id = str(uuid.uuid4())
    await office.emit(
        office.input,
        ReplyRouted(
            case_id=case_id,
            reply_id=reply_id,
            in_reply_to=message["message_id"],
            unit="KVR-III/12",
            text="Anbei der Fahrzeugschein und der Mietvertrag.",
            documents=[
                RoutedDocument(
                    document_id=f"antwort-{reply_id}-1",
                    document_type="fahrzeugschein",
                    title="Nachgereicht: Fahrzeugschein",
                    blob=blob,
                    text="Zulassungsbescheinigung Teil I",
                ),
            ],
            received_at=at,
        ),
        case_id,
    )
    reply = await office.wait_for("reply.filed.v1", case_id)
    assert reply["request_id"] == message["message_id"] and reply["documents_filed"] == 1
    assert reply["requested"] == 2 and reply["complete"] is False
    async with office.eakte.db.read() as s:
        request = (
            await s.execute(
                sa.select(nachrichten.c.request_status).where(
                    nachrichten.c.message_id == message["message_id"]
                )
            )
        ).scalar()
        types = list(
            (
                await s.execute(sa.select(documents.c.document_type).where(documents.c.case_id == case_id))
            ).scalars()
        )
        resting = (
            await s.execute(sa.select(vorgaenge.c.frist_ruht).where(vorgaenge.c.case_id == case_id))
        ).scalar()
    assert request == "eingegangen"
    assert sorted(types) == ["fahrzeugschein", "nachricht", "nachricht"]
    assert resting is True
    assert "(ruht: Unterlagen angefordert)" in (await clerk.http.get(f"{PREFIX}/")).text
    page = (await clerk.http.get(page_path)).text
    assert "Anbei der Fahrzeugschein und der Mietvertrag." in page and "Antwort eingegangen" in page
    assert "Von Antragsteller/in" in page and "An Antragsteller/in" in page
    assert "antwort_abgelegt" in await actions(office, case_id)

    # another unit neither writes nor sees
    other = await clerk_of("KVR-II/11")
    assert (await other.http.get(page_path)).status_code == 403
    token = await other.token(f"{PREFIX}/")
    denied = await other.http.post(
        path, data={"_csrf_token": token, "action": "senden", "subject": "x", "text": "y"}
    )
    assert denied.status_code == 403
    assert len(office.of("message.sent.v1", case_id)) == 1
    assert await EAkte(office.eakte).verify_audit()


async def test_a_lapsed_nachforderung_tells_staff_to_decide_with_what_they_have(
    office: Any, clerk_of: Callable[..., Any]
) -> None:
    case_id = await office.submit("bewohnerparkausweis", PARKEN)
    await office.wait_for("case.opened.v1", case_id)
    clerk = await clerk_of("KVR-III/12")
    page_path = f"{PREFIX}/vorgaenge/{case_id}"
    deadline = (date.today() + timedelta(days=7)).isoformat()
    await clerk.post(
        f"{page_path}/nachricht",
        {
            "action": "senden",
            "subject": "Unterlagen",
            "text": "Bitte.",
            "others": "Vollmacht",
            "deadline": deadline,
        },
        page=page_path,
    )
    message = await office.wait_for("message.sent.v1", case_id)
    page = (await clerk.http.get(page_path)).text
    assert "Unterlagen angefordert, Frist" in page and "Die Entscheidungsfrist ruht" in page
    for level in (1, 2):
        overdue = DocumentsOverdue(
            case_id=case_id,
            request_id=message["message_id"],
            unit="KVR-III/12",
            level=level,
            deadline=deadline,
        )
        await office.emit(office.workflow, overdue, case_id)

    async def lapsed() -> bool:
        return "nachforderung_nach_aktenlage" in await actions(office, case_id)

    await eventually(lapsed, timeout=30)
    page = (await clerk.http.get(page_path)).text
    assert "Angeforderte Unterlagen nicht eingegangen" in page and "nach Aktenlage" in page
    # a new Nachforderung is possible again
    again = await clerk.post(
        f"{page_path}/nachricht",
        {
            "action": "senden",
            "subject": "Noch einmal",
            "text": "Bitte.",
            "others": "Vollmacht",
            "deadline": deadline,
        },
        page=page_path,
    )
    assert "bereits eine Nachforderung offen" not in again.text

    async def second() -> bool:
        return len(office.of("documents.requested.v1", case_id)) == 2

    await eventually(second, timeout=30)


async def test_an_applicant_without_an_account_cannot_be_written_to(
    office: Any, clerk_of: Callable[..., Any]
) -> None:
    case_id = await office.submit(
        "bewohnerparkausweis", PARKEN, applicant=office.anonymous("anonym@example.org")
    )
    await office.wait_for("case.opened.v1", case_id)
    clerk = await clerk_of("KVR-III/12")
    page_path = f"{PREFIX}/vorgaenge/{case_id}"
    page = (await clerk.http.get(page_path)).text
    assert (
        "kein Servicekonto" in page
        and 'action="/arbeitsplatz/vorgaenge/' + case_id + "/nachricht" not in page
    )
    refused = await clerk.post(
        f"{page_path}/nachricht",
        {"action": "senden", "subject": "Frage", "text": "Bitte melden Sie sich."},
        page=page_path,
    )
    assert "kein Servicekonto" in refused.text
    assert not office.of("message.sent.v1", case_id)
