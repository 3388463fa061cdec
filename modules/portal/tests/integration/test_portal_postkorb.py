"""The citizen's side of the two-way Postkorb over the portal's real HTTP app on a real
nats-server: the authority's message arrives with an e-mail notice (no content), unread
counts, the thread, a reply with attachments checked as an application's uploads, once
however often sent, archive without delete; and a second citizen learns nothing (404)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from email.header import decode_header, make_header
from typing import Any

import msgspec
import nats
import nats.js.api
import sqlalchemy as sa

from rathaus.contracts.eakte.v1 import CaseOpened, MessageSent, ReplyFiled, RequestedDocument
from rathaus.contracts.envelope import Event
from rathaus.contracts.platform.v1 import DocumentsOverdue
from rathaus.platform.kernel import Kernel, ModuleApp
from rathaus.platform.testing import eventually
from rathaus.portal import PREFIX
from rathaus.portal.handlers.postkorb import NOTICE_SUBJECT, REMINDER_SUBJECT
from rathaus.portal.store_postkorb import nachrichten

API = f"{PREFIX}/api/antraege"
ANGABEN = {
    "given_name": "Erika",
    "family_name": "Mustermann",
    "birth_date": "1964-08-12",
    "street": "Zenettistraße",
    "house_number": "12",
    "postal_code": "80337",
    "kennzeichen": "M-EM 1964",
    "halter": "ja",
}
SECRET = "Bitte senden Sie uns den Fahrzeugschein des Wagens M-EM 1964."
AKTENZEICHEN = "523.11-2026-000099"


def now() -> str:
    return datetime.now(UTC).isoformat()


@asynccontextmanager
async def kernels(world: Any, *names: str) -> AsyncIterator[list[Kernel]]:
    started = [Kernel(name, world.settings) for name in names]
    for k in started:
        await k.start(ModuleApp())
    try:
        yield started
    finally:
        for k in started:
            await k.stop(ModuleApp())


async def emit(kernel: Kernel, event: Event, case_id: str) -> None:
    async with kernel.transaction() as uow:
        await uow.emit(event, subject=case_id)


async def replies_on_the_bus(world: Any, case_id: str) -> list[dict[str, Any]]:
    async def drained() -> bool:
        return (await world.portal.outbox_storage.stats()).pending == 0

    await eventually(drained)
    nc = await nats.connect(world.settings.nats.url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("RATHAUS_PORTAL")
        sub = await js.subscribe(
            "rathaus.portal.reply.submitted.v1",
            ordered_consumer=True,
            deliver_policy=nats.js.api.DeliverPolicy.ALL,
        )
        found = []
        for _ in range(info.state.messages):
            try:
                msg = await sub.next_msg(timeout=1)
            except TimeoutError:
                break
            event = msgspec.json.decode(msg.data)
            if event["subject"] == case_id:
                found.append(event)
        return found
    finally:
        await nc.close()


async def apply(world: Any, scan: Any) -> tuple[Any, str]:
    erika = await world.citizen()
    assert (await erika.register()).status_code == 303
    case_id = str(uuid.uuid4())

    body = {
        "service_id": "bewohnerparkausweis",
        "vorgangsnummer": case_id,
        "angaben": ANGABEN,
        "nachweise": [
            {
                "art": "fahrzeugschein",
                "dateiname": "fs.pdf",
                "inhalt_base64": base64.b64encode(scan()).decode(),
            }
        ],
    }
    r = await erika.http.post(API, json=body)
    assert r.status_code == 201, r.text
    return erika, case_id


def message(case_id: str, *, requested: bool = True) -> MessageSent:
    return MessageSent(
        case_id=case_id,
        message_id=str(uuid.uuid4()),
        aktenzeichen=AKTENZEICHEN,
        subject="Bitte reichen Sie Unterlagen nach",
        text=SECRET,
        template="unterlagen_fehlen",
        requested=[RequestedDocument(document_type="fahrzeugschein", title="Fahrzeugschein")]
        if requested
        else [],
        deadline=(date.today() + timedelta(days=14)).isoformat() if requested else "",
        unit="KVR-III/12",
        sent_by="staff-1",
        sent_at=now(),
    )


async def test_a_message_arrives_is_read_and_answered_with_attachments(
    world: Any, mails: Any, scan: Any
) -> None:
    erika, case_id = await apply(world, scan)
    thread = f"{PREFIX}/postkorb/vorgang/{case_id}"
    async with kernels(world, "eakte", "platform") as (eakte, platform):
        await emit(
            eakte,
            CaseOpened(
                case_id=case_id,
                aktenzeichen=AKTENZEICHEN,
                service_id="bewohnerparkausweis",
                unit="KVR-III/12",
                opened_at=now(),
            ),
            case_id,
        )
        sent = message(case_id)
        await emit(eakte, sent, case_id)

        async def notified() -> bool:
            return bool(mails.to(erika.email))

        await eventually(notified, timeout=30)
        (notice,) = mails.to(erika.email)
        body = notice.get_payload(decode=True).decode()
        assert notice["Subject"] == NOTICE_SUBJECT and AKTENZEICHEN in body and "/postkorb" in body
        assert "Fahrzeugschein" not in body and "M-EM" not in body  # no content in the mail

        home = (await erika.http.get(f"{PREFIX}/antraege")).text
        assert "Postkorb (1 ungelesen)" in home
        postkorb = (await erika.http.get(f"{PREFIX}/postkorb")).text
        assert thread in postkorb and "davon 1 ungelesen" in postkorb and "Unterlagen angefordert" in postkorb

        page = await erika.http.get(thread)
        assert page.status_code == 200 and SECRET in page.text and "Bitte reichen Sie nach" in page.text
        assert 'name="datei-0"' in page.text and "noch 14 Tage" in page.text
        assert "Postkorb (1 ungelesen)" not in page.text  # read as it is shown
        # the same thread on the application's page
        assert SECRET in (await erika.http.get(f"{PREFIX}/antraege/{case_id}")).text

        # a bad file: refused with the application's checks, the text kept, nothing sent
        hidden = await erika.hidden(thread)
        reply_id = hidden_value(page.text, "reply_id")
        form = {
            **hidden,
            "text": "Anbei der Fahrzeugschein.",
            "reply_id": reply_id,
            "in_reply_to": sent.message_id,
        }
        bad = await erika.http.post(
            f"{thread}/antwort",
            data=form,
            files={"datei-0": ("fs.pdf", b"nur Text, kein PDF", "application/pdf")},
        )
        assert bad.status_code == 400
        assert "keine erlaubte Datei" in bad.text and "Anbei der Fahrzeugschein." in bad.text
        assert 'href="#feld-datei-0"' in bad.text and 'aria-invalid="true"' in bad.text

        good = await erika.http.post(
            f"{thread}/antwort",
            data=form,
            files=[
                ("datei-0", ("fs.pdf", scan(), "application/pdf")),
                ("weitere", ("mv.pdf", scan(), "application/pdf")),
            ],
        )
        assert good.status_code == 303 and good.headers["location"].startswith(thread)
        again = await erika.http.post(
            f"{thread}/antwort", data=form, files={"datei-0": ("fs.pdf", scan(), "application/pdf")}
        )
        assert again.status_code == 303  # a double click: nothing new
        (event,) = await replies_on_the_bus(world, case_id)
        data = event["data"]
        assert event["dataclassification"] == "personal"
        assert data["reply_id"] == reply_id and data["in_reply_to"] == sent.message_id
        assert data["text"] == "Anbei der Fahrzeugschein."
        assert [(a["document_type"], a["title"]) for a in data["attachments"]] == [
            ("fahrzeugschein", "Fahrzeugschein"),
            ("nachreichung", "Weitere Unterlage"),
        ]
        assert data["attachments"][0]["blob"]["key"].startswith("portal/")
        shown = (await erika.http.get(thread)).text
        assert "Ihre Antwort" in shown and "gesendet, wird abgelegt" in shown

        await emit(
            eakte,
            ReplyFiled(
                case_id=case_id,
                reply_id=reply_id,
                request_id=sent.message_id,
                documents_filed=2,
                requested=1,
                complete=True,
                filed_at=now(),
            ),
            case_id,
        )

        async def filed() -> bool:
            return "in der Akte abgelegt" in (await erika.http.get(thread)).text

        await eventually(filed)

        # the deadline's reminder (the workflow's level 1), once
        overdue = DocumentsOverdue(
            case_id=case_id, request_id=sent.message_id, unit="KVR-III/12", level=1, deadline=sent.deadline
        )
        await emit(platform, overdue, case_id)
        await emit(platform, overdue, case_id)

        async def reminded() -> bool:
            return any(subject(m) == REMINDER_SUBJECT for m in mails.to(erika.email))

        await eventually(reminded, timeout=30)

        # archive, never delete: the thread moves to the archive and back with a new message
        hidden = await erika.hidden(thread)
        r = await erika.http.post(f"{thread}/archiv", data={**hidden, "archivieren": "ja"})
        assert r.status_code == 303
        assert thread not in (await erika.http.get(f"{PREFIX}/postkorb")).text
        assert thread in (await erika.http.get(f"{PREFIX}/postkorb/archiv")).text
        await emit(eakte, message(case_id, requested=False), case_id)

        async def back() -> bool:
            return thread in (await erika.http.get(f"{PREFIX}/postkorb")).text

        await eventually(back, timeout=30)
        async with world.portal.db.read() as s:
            kept = (
                await s.execute(
                    sa.select(sa.func.count())
                    .select_from(nachrichten)
                    .where(nachrichten.c.case_id == case_id)
                )
            ).scalar()
        assert kept == 3
        assert len([m for m in mails.to(erika.email) if subject(m) == REMINDER_SUBJECT]) == 1


async def test_another_citizen_can_neither_read_nor_answer_nor_archive_a_thread(
    world: Any, mails: Any, scan: Any
) -> None:
    erika, case_id = await apply(world, scan)
    async with kernels(world, "eakte") as (eakte,):
        sent = message(case_id)
        await emit(eakte, sent, case_id)
        thread = f"{PREFIX}/postkorb/vorgang/{case_id}"

        async def arrived() -> bool:
            return SECRET in (await erika.http.get(thread)).text

        await eventually(arrived, timeout=30)

    max_ = await world.citizen()
    await max_.register(given_name="Max", family_name="Huber", birth_date="1980-01-01")
    nowhere = f"{PREFIX}/postkorb/vorgang/{uuid.uuid4()}"
    for path in (thread, nowhere):  # the same answer whether the thread exists or not
        r = await max_.http.get(path)
        assert r.status_code == 404 and SECRET not in r.text
    token = await max_.token(f"{PREFIX}/postkorb")
    answer = {
        "_csrf_token": token,
        "text": "Ich bin nicht Erika.",
        "reply_id": str(uuid.uuid4()),
        "in_reply_to": sent.message_id,
    }
    for path in (thread, nowhere):
        r = await max_.http.post(
            f"{path}/antwort", data=answer, files={"weitere": ("x.pdf", scan(), "application/pdf")}
        )
        assert r.status_code == 404
        r = await max_.http.post(f"{path}/archiv", data={"_csrf_token": token, "archivieren": "ja"})
        assert r.status_code == 404
    postkorb = (await max_.http.get(f"{PREFIX}/postkorb")).text
    assert case_id not in postkorb and "Keine Nachrichten." in postkorb
    assert "ungelesen" not in (await max_.http.get(f"{PREFIX}/antraege")).text
    assert await replies_on_the_bus(world, case_id) == []
    # Erika's thread is untouched: still unarchived, no reply in it
    assert "Ihre Antwort" not in (await erika.http.get(thread)).text
    assert thread in (await erika.http.get(f"{PREFIX}/postkorb")).text


def subject(mail: Any) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def hidden_value(page: str, name: str) -> str:
    return page.split(f'name="{name}" value="')[1].split('"')[0]
