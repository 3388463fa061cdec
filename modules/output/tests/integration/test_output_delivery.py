"""Output management on the real bus with a real SMTP server (aiosmtpd): any service's
Bescheid from its procedure version, on the recipient's channel, and the notifications of
other authorities."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import nats
import pypdfium2
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from alembic import command as command_of_alembic
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from rathaus.contracts import encode_event, new_event
from rathaus.contracts.common import Address, BlobRef, Person
from rathaus.contracts.common_v2 import Organisation, Party
from rathaus.contracts.eakte.v1 import DecisionMade as DecisionMadeV1
from rathaus.contracts.eakte.v1 import Recipient
from rathaus.contracts.eakte.v2 import DecisionMade
from rathaus.contracts.platform.v1 import DeliverDecision
from rathaus.contracts.portal.v1 import DocumentRetrieved
from rathaus.output import handlers, mail
from rathaus.output.bekanntgabe import POSTKORB, RULES, appeal_period_end, determine
from rathaus.output.bootstrap import HERE, bootstrap
from rathaus.output.domain import local_day
from rathaus.output.store import bescheide, uebermittlungen
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.calendar import munich_day
from rathaus.platform.kernel.db import Database, alembic_config
from rathaus.platform.kernel.deadletters import DeadLetter, list_dead_letters
from rathaus.platform.kernel.outbox import processed_table
from rathaus.platform.runtime.processes import free_port
from rathaus.platform.testing import SmtpCollector, eventually


@dataclass
class World:
    output: Kernel
    other: Kernel
    smtp: SmtpCollector
    settings: Settings
    nc: Any
    events: list[dict[str, Any]] = field(default_factory=list)

    async def emit(self, *events: Any, event_id: str | None = None) -> None:
        async with self.other.transaction() as uow:
            for event in events:
                await uow.emit(event, subject=event.case_id, event_id=event_id)

    async def processed(self, *event_ids: str) -> None:
        """Wait until output handled (or skipped as a duplicate) these events."""

        async def done() -> bool:
            async with self.output.db.read() as s:
                seen = (
                    await s.execute(
                        sa.select(processed_table.c.event_id).where(processed_table.c.event_id.in_(event_ids))
                    )
                ).scalars()
                return set(seen) == set(event_ids)

        await eventually(done, timeout=30)

    @property
    def module(self) -> handlers.Output:
        """The module's handlers object, as bootstrap wired it."""
        _, handler = next(iter(self.output.subscriptions.handlers.values()))
        owner = handler.__self__  # type: ignore[attr-defined]
        assert isinstance(owner, handlers.Output)
        return owner

    def of(self, kind: str, case_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind and e["subject"] == case_id]

    async def delivered(self, case_id: str) -> dict[str, Any]:
        async def there() -> bool:
            return bool(self.of(DELIVERED, case_id))

        await eventually(there, timeout=60)
        return dict(self.of(DELIVERED, case_id)[0]["data"])

    async def pdf_text(self, document: dict[str, Any]) -> str:
        return text_of(await self.output.blobs.get(msgspec.convert(document, BlobRef)))

    async def row(self, case_id: str) -> dict[str, Any]:
        async with self.output.db.read() as s:
            found = (
                (await s.execute(sa.select(bescheide).where(bescheide.c.case_id == case_id))).mappings().one()
            )
        return dict(found)


DELIVERED = "de.rathaus.output.decision.delivered.v1"
DETERMINED = "de.rathaus.output.bekanntgabe.determined.v1"
NOTIFIED = "de.rathaus.output.notification.sent.v1"


def text_of(pdf: bytes) -> str:
    doc = pypdfium2.PdfDocument(io.BytesIO(pdf))
    return " ".join(" ".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc)))


@contextlib.asynccontextmanager
async def running(settings: Settings, *procedure_dirs: Path, smtp_up: bool = True) -> AsyncIterator[World]:
    settings.procedure_dirs = list(procedure_dirs)
    smtp = SmtpCollector()
    port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    if smtp_up:
        controller.start()
    settings.smtp.host, settings.smtp.port = "127.0.0.1", port
    output = Kernel("output", settings)
    app = bootstrap(output)
    await output.start(app)
    other = Kernel("eakte", settings)
    await other.start(ModuleApp())
    nc = await nats.connect(settings.nats.url)
    world = World(output, other, smtp, settings, nc)

    async def collect(msg: Any) -> None:
        world.events.append(msgspec.json.decode(msg.data))

    await nc.subscribe("rathaus.output.>", cb=collect)
    try:
        yield world
    finally:
        await nc.close()
        await other.stop(ModuleApp())
        await output.stop(app)
        if smtp_up:
            controller.stop()


def command(case_id: str) -> DeliverDecision:
    return DeliverDecision(case_id=case_id, channel="postkorb", template="")


def v1_decision(case_id: str) -> DecisionMadeV1:
    return DecisionMadeV1(
        case_id=case_id,
        aktenzeichen="523.11-2026-000077",
        service_id="bewohnerparkausweis",
        outcome="granted",
        reasons="Die Voraussetzungen liegen vor.",
        unit="KVR-III/12",
        decided_by="s1",
        decided_at="2026-11-20T10:00:00+00:00",
        recipient=Recipient(
            person=Person(given_name="Max", family_name="Muster", birth_date="1970-01-01"),
            address=Address(street="Zenettistraße", house_number="14", postal_code="80337"),
            email="max@example.org",
        ),
        facts={
            "kennzeichen": "M-MM 70",
            "parkzone": "Schlachthofviertel",
            "stadtbezirk": "02",
            "gueltig_ab": "2026-11-22",
            "gueltig_bis": "2028-11-21",
            "gebuehr": "30,00 EUR",
        },
    )


async def test_a_bewohnerparkausweis_v2_and_v1_in_either_order_once(
    settings: Settings, decide: Callable[..., DecisionMade]
) -> None:
    async with running(settings) as world:
        definition = world.output.procedures.get("bewohnerparkausweis", 1)
        first = decide(definition, aktenzeichen="523.11-2026-000042")
        second = str(uuid.uuid4())
        # the command first, the decision second, each twice; the v1 decision before its command
        await world.emit(command(first.case_id), command(first.case_id))
        await world.emit(first, v1_decision(second), first)
        await world.emit(command(second))

        data = await world.delivered(first.case_id)
        old = await world.delivered(second)

        async def mailed() -> bool:
            return len(world.smtp.messages) == 2

        await eventually(mailed, timeout=30)
        assert len(world.of(DELIVERED, first.case_id)) == len(world.of(DELIVERED, second)) == 1
        assert data["channel"] == old["channel"] == "postkorb"
        assert "Mustermann" not in str(data) and data["bekanntgabe"] > data["sent_at"][:10]
        mails = {m["To"]: m for m in world.smtp.messages}
        mail = mails["erika@example.org"]
        assert mail["Subject"] == "Neues Dokument in Ihrem Postkorb" and not mail.is_multipart()
        assert "523.11-2026-000042" in mail.get_payload() and "Schlachthofviertel" not in mail.get_payload()

        pdf = await world.output.blobs.get(msgspec.convert(data["document"], BlobRef))
        text = text_of(pdf)
        for expected in (
            "Aktenzeichen 523.11-2026-000042",
            "Erika Mustermann",
            "Kennzeichen M-EM 1964",
            "Parklizenzgebiet Schlachthofviertel (Stadtbezirk 02)",
            "gilt vom 22.11.2026 bis zum 21.11.2028",
            "Gebühr von 30,00 € erhoben",
            "auf Ihren Antrag vom 13.11.2026",
            "Rechtsbehelfsbelehrung Gegen diesen Bescheid können Sie innerhalb eines Monats",
            "Verfahren Bewohnerparkausweis beantragen (Version 1)",
        ):
            assert expected in text, expected
        reader = PdfFileReader(io.BytesIO(pdf))
        xmp = reader.root["/Metadata"].get_object().data.decode()
        assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
        cert = load_cert_from_pemder(str(settings.data_dir / "output" / "siegel" / "siegel.cert.pem"))
        status = await async_validate_pdf_signature(
            reader.embedded_signatures[0], ValidationContext(trust_roots=[cert])
        )
        assert status.intact and status.valid and status.trusted
        # the v1 decision, upcast: its facts filled the version-1 template as before
        assert "Kennzeichen M-MM 70" in await world.pdf_text(old["document"])


async def test_rows_an_organisation_and_the_notified_authorities(
    settings: Settings,
    write_procedure: Callable[..., Path],
    decide: Callable[..., DecisionMade],
    verein: dict[str, Any],
) -> None:
    async with running(settings, write_procedure()) as world:
        definition = world.output.procedures.get("vereinstest", 1)
        club = Party(
            organisation=Organisation(organisation_id="o-1", name="Isarfreunde e. V.", legal_form="e. V."),
            person=Person(given_name="Anna", family_name="Berger", birth_date="1980-02-03"),
            address=Address(street="Marienplatz", house_number="1", postal_code="80331"),
            email="vorstand@isarfreunde.example",
        )
        granted = decide(definition, recipient=club, data=verein, facts={"gebuehr_cent": "2500"})
        refused = decide(
            definition, recipient=club, data=verein, facts={}, outcome="refused", reasons="Nein."
        )
        await world.emit(granted, command(granted.case_id), refused, command(refused.case_id))

        data = await world.delivered(granted.case_id)
        assert data["channel"] == "postkorb"  # an organisation's Postkorb, without an own account
        text = await world.pdf_text(data["document"])
        for expected in (
            "Isarfreunde e. V. z. Hd. Anna Berger",
            "1 Anna Berger Erste Vorsitzende 03.02.1980",
            "2 Bernd Huber Kassenwartin 09.07.1975",
            "Betrag: 25,00 €. Gebühr: 25,00 €.",
            "Rechtsbehelfsbelehrung Gegen diesen Bescheid können Sie entweder Widerspruch einlegen",
        ):
            assert expected in text, expected
        assert "Ablehnung" in await world.pdf_text((await world.delivered(refused.case_id))["document"])

        async def notified() -> bool:
            return bool(world.of(NOTIFIED, granted.case_id)) and bool(world.of(NOTIFIED, refused.case_id))

        await eventually(notified, timeout=30)
        (finanzamt,) = world.of(NOTIFIED, granted.case_id)
        assert finanzamt["id"] == str(uuid.uuid5(handlers.FORWARD_NAMESPACE, f"{granted.case_id}:finanzamt"))
        assert finanzamt["data"]["data"] == {"vereinsname": "Isarfreunde e. V.", "beginn": "2026-12-01"}
        assert finanzamt["data"]["recipient"] == "finanzamt"
        assert finanzamt["data"]["recipient_name"] == "Finanzamt München"
        assert finanzamt["data"]["legal_basis"] == "§ 138 AO"
        (register,) = world.of(NOTIFIED, refused.case_id)  # this one only for a refusal
        assert register["data"]["recipient"] == "registergericht"
        assert register["data"]["data"] == {"vereinsname": "Isarfreunde e. V."}
        async with world.output.db.read() as s:
            logged = (await s.execute(sa.select(uebermittlungen))).mappings().all()
        assert sorted((r["recipient"], tuple(r["fields"])) for r in logged) == [
            ("finanzamt", ("beginn", "vereinsname")),
            ("registergericht", ("vereinsname",)),
        ]


async def test_anonymous_by_email_with_the_pdf_or_only_to_the_akte(
    settings: Settings,
    write_procedure: Callable[..., Path],
    decide: Callable[..., DecisionMade],
    verein: dict[str, Any],
) -> None:
    async with running(settings, write_procedure()) as world:
        definition = world.output.procedures.get("vereinstest", 1)
        by_mail = decide(definition, recipient=Party(email="anonym@example.org"), data=verein)
        no_address = decide(definition, recipient=Party(), data=verein)
        await world.emit(by_mail, command(by_mail.case_id), no_address, command(no_address.case_id))

        mailed = await world.delivered(by_mail.case_id)
        filed = await world.delivered(no_address.case_id)
        assert (mailed["channel"], filed["channel"]) == ("email", "akte")
        # nothing was sent for the Akte: its date is the day it was filed (see handlers)
        assert filed["bekanntgabe"] == local_day(datetime.fromisoformat(filed["sent_at"])).isoformat()
        assert mailed["bekanntgabe"] > local_day(datetime.fromisoformat(mailed["sent_at"])).isoformat()

        async def arrived() -> bool:
            return (
                len(world.smtp.messages) == 1 and (await world.row(by_mail.case_id))["mail_status"] == "sent"
            )

        await eventually(arrived, timeout=30)
        mail = world.smtp.messages[0]
        assert mail["To"] == "anonym@example.org"
        assert mail["Subject"] == f"Ihr Bescheid, Aktenzeichen {by_mail.aktenzeichen}"
        (attachment,) = [p for p in mail.walk() if p.get_content_type() == "application/pdf"]
        assert attachment.get_filename() == f"Bescheid-{by_mail.aktenzeichen}.pdf"
        sent_pdf = attachment.get_payload(decode=True)
        assert isinstance(sent_pdf, bytes)
        assert sent_pdf == await world.output.blobs.get(msgspec.convert(mailed["document"], BlobRef))
        text = text_of(sent_pdf)
        assert f"Aktenzeichen {by_mail.aktenzeichen}" in text and "Zustellung elektronisch, E-Mail" in text
        assert (await world.row(no_address.case_id))["mail_status"] == "none"
        assert "Zustellung keine Übermittlung, zur Akte" in await world.pdf_text(filed["document"])


async def test_the_bescheid_mail_waits_for_the_mail_server_and_goes_once(
    settings: Settings,
    write_procedure: Callable[..., Path],
    decide: Callable[..., DecisionMade],
    verein: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mail, "MAIL_RETRY_BASE", 0.0)  # retry at once instead of after 30 s
    monkeypatch.setattr(mail, "MAIL_POLL_SECONDS", 0.2)
    async with running(settings, write_procedure(), smtp_up=False) as world:
        definition = world.output.procedures.get("vereinstest", 1)
        waiting = decide(definition, recipient=Party(email="anonym@example.org"), data=verein)
        refused = decide(definition, recipient=Party(email=SmtpCollector.REFUSED), data=verein)
        await world.emit(waiting, command(waiting.case_id), refused, command(refused.case_id))
        await world.delivered(waiting.case_id)

        async def retried() -> bool:
            row = await world.row(waiting.case_id)
            return row["mail_status"] == "pending" and row["mail_attempts"] >= 2

        await eventually(retried, timeout=30)
        controller = Controller(world.smtp, hostname="127.0.0.1", port=settings.smtp.port)
        controller.start()
        try:

            async def settled() -> bool:
                rows = [await world.row(waiting.case_id), await world.row(refused.case_id)]
                return [r["mail_status"] for r in rows] == ["sent", "failed"]

            await eventually(settled, timeout=30)
            tries = (await world.row(refused.case_id))["mail_attempts"]
            # another round finds nothing to send: the Bescheid went once, the refused one is not retried
            assert await world.module.mailer.send_pending_mails() == 0
            assert [m["To"] for m in world.smtp.messages] == ["anonym@example.org"]
            assert (await world.row(refused.case_id))["mail_attempts"] == tries
        finally:
            controller.stop()


async def test_a_changed_procedure_version_is_not_rendered(
    settings: Settings, decide: Callable[..., DecisionMade]
) -> None:
    async with running(settings) as world:
        definition = world.output.procedures.get("bewohnerparkausweis", 1)
        changed = decide(definition, procedure_digest="0" * 64)
        fine = decide(definition)
        await world.emit(changed, command(changed.case_id), fine, command(fine.case_id))
        await world.delivered(fine.case_id)

        letter = await dead_letter(world, changed.case_id)
        assert "ProcedureChanged: Version 1 des Verfahrens bewohnerparkausweis" in letter.error
        assert letter.consumer == "output"
        assert world.of(DELIVERED, changed.case_id) == []
        assert (await world.row(changed.case_id))["sha256"] is None


async def test_a_template_the_sandbox_refuses_is_reported_not_executed(
    settings: Settings,
    write_procedure: Callable[..., Path],
    decide: Callable[..., DecisionMade],
    verein: dict[str, Any],
) -> None:
    root = write_procedure("{{ angaben.__class__.__mro__[1].__subclasses__() }}")
    async with running(settings, root) as world:
        definition = world.output.procedures.get("vereinstest", 1)
        decision = decide(definition, data=verein)
        await world.emit(decision, command(decision.case_id))

        letter = await dead_letter(world, decision.case_id)
        assert "vereinstest@1/granted.html" in letter.error and "Sandbox" in letter.error
        assert "'__class__'" in letter.error  # refused at the first forbidden step
        assert world.of(DELIVERED, decision.case_id) == []
        assert (await world.row(decision.case_id))["sha256"] is None
        assert not (settings.data_dir / "blobs" / "output").exists()  # no PDF was made


async def dead_letter(world: World, case_id: str) -> DeadLetter:
    """The message of this case that output dead-lettered (waits for it)."""
    found: list[DeadLetter] = []

    async def parked() -> bool:
        letters = await list_dead_letters(world.nc, "output")
        found[:] = [d for d in letters if case_id.encode() in d.data]
        return bool(found)

    await eventually(parked, timeout=30)
    (letter,) = found
    # the kernel's header comes back as an email Header (its umlauts garbled): compare as text
    return dataclasses.replace(letter, error=str(letter.error))


async def test_a_v1_decision_stored_before_the_upgrade_is_delivered(settings: Settings) -> None:
    """A decision that waited for its command in the database of the previous release (the
    schema of output_0001, the v1 event's data) is delivered after the upgrade."""
    case_id = str(uuid.uuid4())
    db = Database(settings.database_url("output"), module="output")  # SQLite or PostgreSQL

    def previous_release(connection: sa.Connection) -> None:
        config = alembic_config(HERE / "migrations", "alembic_version", None)
        config.attributes["connection"] = connection
        command_of_alembic.upgrade(config, "output_0001")
        connection.execute(
            sa.text("INSERT INTO bescheide (case_id, decision, unit, aktenzeichen) VALUES (:c, :d, :u, :a)"),
            {
                "c": case_id,
                "d": msgspec.json.encode(v1_decision(case_id)).decode(),
                "u": "KVR-III/12",
                "a": "523.11-2026-000077",
            },
        )

    async with db.engine.begin() as connection:
        await connection.run_sync(previous_release)
    await db.dispose()
    async with running(settings) as world:
        await world.emit(command(case_id))
        data = await world.delivered(case_id)
        assert data["channel"] == "postkorb"
        assert "Kennzeichen M-MM 70" in await world.pdf_text(data["document"])


def retrieval(
    delivered: dict[str, Any], case_id: str, after: timedelta, sha256: str = ""
) -> DocumentRetrieved:
    at = datetime.fromisoformat(delivered["sent_at"]) + after
    return DocumentRetrieved(
        retrieval_id=str(uuid.uuid4()),
        case_id=case_id,
        sha256=sha256 or delivered["document"]["sha256"],
        retrieved_at=at.isoformat(),
    )


async def test_a_first_retrieval_moves_the_bekanntgabe_once(
    settings: Settings, decide: Callable[..., DecisionMade]
) -> None:
    """§ 9 OZG: retrieved before the presumed third day, the retrieval day is the day of
    notice, published once; a redelivery, a duplicate and a later retrieval change nothing;
    retrieved after the third day, the presumed day stays (and that is published too)."""
    async with running(settings) as world:
        definition = world.output.procedures.get("bewohnerparkausweis", 1)
        early, late = decide(definition), decide(definition)
        await world.emit(early, command(early.case_id), late, command(late.case_id))
        delivered = await world.delivered(early.case_id)
        presumed = determine(POSTKORB, delivered["sent_at"]).presumed
        assert presumed is not None and delivered["bekanntgabe"] == presumed.isoformat()
        assert delivered["bekanntgabe_basis"] == RULES[POSTKORB].legal_basis
        assert delivered["appeal_ends"] == appeal_period_end(presumed).isoformat()  # it has a Belehrung

        first = retrieval(delivered, early.case_id, timedelta(minutes=5))
        again = msgspec.structs.replace(first, retrieval_id=str(uuid.uuid4()))  # a second copy
        later = retrieval(delivered, early.case_id, timedelta(days=1, minutes=5))
        wrong = retrieval(delivered, early.case_id, timedelta(minutes=1), sha256="0" * 64)
        ids = [str(uuid.uuid4()) for _ in range(4)]
        await world.emit(wrong, event_id=ids[0])  # not this case's Bescheid: ignored
        await world.emit(first, event_id=ids[1])
        # redelivered: the same envelope once more on the stream (no Nats-Msg-Id, no dedupe)
        envelope = new_event(first, subject=early.case_id, event_id=ids[1])
        await world.nc.jetstream().publish(envelope.contract.subject, encode_event(envelope))
        await world.emit(again, event_id=ids[2])
        await world.emit(later, event_id=ids[3])
        await world.processed(*ids)

        async def determined() -> bool:
            return bool(world.of(DETERMINED, early.case_id))

        await eventually(determined, timeout=30)
        (event,) = world.of(DETERMINED, early.case_id)
        data = event["data"]
        day = munich_day(first.retrieved_at)
        assert day < presumed
        assert data["bekanntgabe"] == day.isoformat() and data["by_retrieval"] is True
        assert data["presumed"] == presumed.isoformat() and data["retrieved_at"] == first.retrieved_at
        assert data["provided_at"] == delivered["sent_at"] and data["sha256"] == first.sha256
        assert data["legal_basis"].startswith("§ 9 Abs. 1 Satz 4 OZG")
        assert data["appeal_ends"] == appeal_period_end(day).isoformat()  # counted from the new day
        assert event["id"] == str(
            uuid.uuid5(handlers.BEKANNTGABE_NAMESPACE, f"{early.case_id}:{first.sha256}")
        )
        row = await world.row(early.case_id)
        assert (row["bekanntgabe"], row["retrieved_at"], row["by_retrieval"]) == (
            day.isoformat(),
            first.retrieved_at,
            True,
        )
        assert await list_dead_letters(world.nc, "output") == []

        # retrieved only after the third day: the presumed day stays, and is published
        other = await world.delivered(late.case_id)
        after = retrieval(other, late.case_id, timedelta(days=9))
        await world.emit(after)

        async def confirmed() -> bool:
            return bool(world.of(DETERMINED, late.case_id))

        await eventually(confirmed, timeout=30)
        (kept,) = world.of(DETERMINED, late.case_id)
        assert kept["data"]["by_retrieval"] is False
        assert kept["data"]["bekanntgabe"] == kept["data"]["presumed"] == other["bekanntgabe"]
        assert (await world.row(late.case_id))["bekanntgabe"] == other["bekanntgabe"]
        assert len(world.of(DETERMINED, early.case_id)) == 1
