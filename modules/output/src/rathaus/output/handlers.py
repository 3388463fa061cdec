"""Use cases of output management: once both the decision and the delivery command of a
case are there, render its Bescheid from the case's procedure version, seal it, deliver it
on the recipient's channel and notify the authorities the procedure names."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, date, datetime
from typing import Any

import msgspec
import sqlalchemy as sa

from rathaus.contracts.eakte.v1 import DecisionMade as DecisionMadeV1
from rathaus.contracts.eakte.v2 import DecisionMade
from rathaus.contracts.output.v1 import AuthorityNotified, BekanntgabeDetermined, DecisionDelivered
from rathaus.contracts.platform.v1 import DeliverDecision
from rathaus.contracts.portal.v1 import DocumentRetrieved
from rathaus.output.bekanntgabe import appeal_period_end, determine, rule_of
from rathaus.output.bescheid import TemplateRefused, context, environment, render, template_name
from rathaus.output.decisions import V1_CHANNEL, stored
from rathaus.output.domain import (
    AKTE,
    CHANNEL_LABELS,
    EMAIL,
    POSTKORB,
    choose_channel,
    forwarded_data,
    german_date,
    german_datetime,
    local_day,
)
from rathaus.output.mail import Mailer
from rathaus.output.render import Seal, render_pdf
from rathaus.output.store import bescheide, uebermittlungen
from rathaus.platform.kernel import Kernel, UnitOfWork
from rathaus.platform.kernel.procedures import Definition, ProcedureChanged
from rathaus.platform.kernel.procedures.model import Unit
from rathaus.platform.kernel.procedures.pins import pin

log = logging.getLogger("rathaus.output")
FORWARD_NAMESPACE = uuid.UUID("5f1d3c1e-8a52-4d4e-9a0b-6f7574707574")
BEKANNTGABE_NAMESPACE = uuid.UUID("0b6e1f5a-3c2d-4e8f-9a1b-62656b616e6e")
MAIL_LABELS = {"sent": "versandt", "pending": "ausstehend", "sending": "ausstehend", "failed": "abgewiesen"}


class Output:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.procedures = kernel.procedures
        self.seal = Seal(kernel.settings.data_dir / "output" / "siegel")
        self.mailer = Mailer(kernel)
        environment(self.procedures)  # the template sandbox, built once for the process

    # -- the two halves of a delivery ------------------------------------------------------

    async def _row(self, uow: UnitOfWork, case_id: str) -> dict[str, Any]:
        # locked (PostgreSQL; SQLite's writers queue anyway): the decision and the command of
        # one case handled at once by two replicas must each see the other's half, or neither
        # would deliver. Two first halves both inserting: one fails on the key and is retried.
        query = sa.select(bescheide).where(bescheide.c.case_id == case_id).with_for_update()
        row = (await uow.session.execute(query)).mappings().first()
        if row is None:
            await uow.session.execute(bescheide.insert().values(case_id=case_id))
            return {"case_id": case_id, "decision": None, "command": None, "sha256": None}
        return dict(row)

    async def on_decision(self, event: DecisionMade, uow: UnitOfWork) -> None:
        """A decision (v2) came: deliver it once its command is there too."""
        await self._decided(uow, event.case_id, event.unit, event.aktenzeichen, msgspec.to_builtins(event), 2)

    async def on_decision_v1(self, event: DecisionMadeV1, uow: UnitOfWork) -> None:
        """A v1 decision (from before services as data): kept as it came, upcast to v2 when
        it is rendered."""
        await self._decided(uow, event.case_id, event.unit, event.aktenzeichen, msgspec.to_builtins(event), 1)

    async def _decided(
        self, uow: UnitOfWork, case_id: str, unit: str, aktenzeichen: str, raw: dict[str, Any], version: int
    ) -> None:
        row = await self._row(uow, case_id)
        if row["sha256"] is not None:
            return  # delivered already: the Bescheid stays what it was
        await uow.session.execute(
            bescheide.update()
            .where(bescheide.c.case_id == case_id)
            .values(decision=raw, decision_version=version, unit=unit, aktenzeichen=aktenzeichen)
        )
        await self._deliver_if_ready(uow, {**row, "decision": raw, "decision_version": version})

    async def on_command(self, event: DeliverDecision, uow: UnitOfWork) -> None:
        """The workflow asks for the delivery. Its ``channel`` and ``template`` are not used:
        the procedure version names the template and the recipient decides the channel."""
        row = await self._row(uow, event.case_id)
        if row["sha256"] is not None:
            return
        command = msgspec.to_builtins(event)
        await uow.session.execute(
            bescheide.update().where(bescheide.c.case_id == event.case_id).values(command=command)
        )
        await self._deliver_if_ready(uow, {**row, "command": command})

    # -- rendering and delivery ---------------------------------------------------------------

    async def _deliver_if_ready(self, uow: UnitOfWork, row: dict[str, Any]) -> None:
        if row["decision"] is None or row["command"] is None or row["sha256"] is not None:
            return  # waiting for the other half, or delivered already
        version = row.get("decision_version") or 1
        decision = stored(version, row["decision"], self.procedures)
        # ProcedureChanged propagates: the message is retried, then dead-lettered for the operator
        definition = self.procedures.pinned(
            decision.service_id, decision.service_version, decision.procedure_digest
        )
        await pin(uow.session, definition, decision.case_id)
        r = decision.recipient
        channel = (
            V1_CHANNEL
            if version == 1
            else choose_channel(
                account_id=r.account_id, organisation=r.organisation is not None, email=r.email
            )
        )
        sent = datetime.now(UTC)
        day = local_day(sent)
        template = template_name(definition, decision.outcome, decision.mode)
        values = context(
            definition, decision, unit=self._unit(decision, definition), channel=channel, day=day
        )
        try:
            pdf = await asyncio.to_thread(self._pdf, definition, template, values)
        except TemplateRefused as refused:  # reported; the consumer retries, then dead-letters it
            log.error("the Bescheid of case %s was not rendered: %s", decision.case_id, refused)
            raise
        ref = await self.kernel.blobs.put(
            "output", pdf, media_type="application/pdf", filename=f"Bescheid-{decision.aktenzeichen}.pdf"
        )
        notice = self._bekanntgabe(channel, sent, day)
        mail = {
            POSTKORB: "pending" if definition.procedure.delivery.notify_email and r.email else "none",
            EMAIL: "pending",
            AKTE: "none",
        }[channel]
        await uow.session.execute(
            bescheide.update()
            .where(bescheide.c.case_id == decision.case_id)
            .values(
                sha256=ref.sha256,
                document=msgspec.to_builtins(ref),
                sent_at=sent.isoformat(),
                bekanntgabe=notice,
                channel=channel,
                mail_to=r.email,
                mail_status=mail,
            )
        )
        await uow.emit(
            DecisionDelivered(
                case_id=decision.case_id,
                aktenzeichen=decision.aktenzeichen,
                service_id=decision.service_id,
                outcome=decision.outcome,
                document=ref,
                channel=channel,
                sent_at=sent.isoformat(),
                bekanntgabe=notice,
                bekanntgabe_basis=rule_of(channel).legal_basis,
                appeal_ends=self._appeal_ends(definition, channel, notice),
            ),
            subject=decision.case_id,
        )
        await self._forward(uow, decision, definition, sent)
        if mail == "pending":  # the mail loop reads committed rows: wake it after the commit
            sa.event.listen(
                uow.session.sync_session, "after_commit", lambda _s: self.mailer.wake(), once=True
            )

    def _pdf(self, definition: Definition, template: str, values: dict[str, Any]) -> bytes:
        return self.seal.apply(render_pdf(render(self.procedures, definition, template, values)))

    def _unit(self, decision: DecisionMade, definition: Definition) -> Unit:
        units = self.procedures.units
        unit = units.get(decision.unit) or units.get(definition.procedure.unit)
        if unit is None:
            raise RuntimeError(f"Die Organisationseinheit {decision.unit} steht nicht in einheiten.toml.")
        return unit

    @staticmethod
    def _bekanntgabe(channel: str, sent: datetime, day: date) -> str:
        """The presumed day of notice (bekanntgabe.py); a first retrieval may move it
        earlier later (``on_retrieved``)."""
        notice = determine(channel, sent)
        if notice.day is None:
            # Nothing was sent, so nothing is notified yet: legally the Bescheid takes effect
            # when it is handed out. DecisionDelivered needs a date, and the day it was filed
            # is the earliest it can be; no deadline may be counted from it.
            return day.isoformat()
        return notice.iso

    @staticmethod
    def _appeal_ends(definition: Definition, channel: str, notice: str) -> str:
        """The last day of the one-month appeal period when the Bescheid has a
        Rechtsbehelfsbelehrung and was notified (nothing runs for one only filed)."""
        if not definition.procedure.appeal or channel == AKTE:
            return ""
        return appeal_period_end(date.fromisoformat(notice)).isoformat()

    # -- the first retrieval from the Postkorb (§ 9 Abs. 1 OZG) --------------------------------

    async def on_retrieved(self, event: DocumentRetrieved, uow: UnitOfWork) -> None:
        """The Bescheid was retrieved for the first time: determine its day of notice again
        (the retrieval day if that is earlier than the presumed third day) and publish it,
        once per Bescheid; a redelivered or later retrieval changes nothing."""
        query = sa.select(bescheide).where(bescheide.c.case_id == event.case_id).with_for_update()
        row = (await uow.session.execute(query)).mappings().first()
        if row is None or row["sha256"] is None:
            # the portal lists only delivered Bescheide: this is another instance's case
            log.warning("retrieval of case %s ignored: no Bescheid delivered here", event.case_id)
            return
        if row["sha256"] != event.sha256 or row["channel"] != POSTKORB:
            log.warning("retrieval of case %s ignored: not its Postkorb Bescheid", event.case_id)
            return
        if row["retrieved_at"] is not None:
            return  # the first retrieval was counted already
        notice = determine(POSTKORB, row["sent_at"], event.retrieved_at)
        assert notice.day is not None and notice.presumed is not None
        appeal_ends = ""
        try:  # the procedure version names the Rechtsbehelfsbelehrung (the period counts from the day)
            decision = stored(row["decision_version"] or 1, row["decision"], self.procedures)
            definition = self.procedures.pinned(
                decision.service_id, decision.service_version, decision.procedure_digest
            )
            appeal_ends = self._appeal_ends(definition, POSTKORB, notice.iso)
        except ProcedureChanged as changed:  # the day of notice must not wait for it
            log.error("appeal period of case %s not computed: %s", event.case_id, changed)
        await uow.session.execute(
            bescheide.update()
            .where(bescheide.c.case_id == event.case_id)
            .values(retrieved_at=event.retrieved_at, bekanntgabe=notice.iso, by_retrieval=notice.by_retrieval)
        )
        await uow.emit(
            BekanntgabeDetermined(
                case_id=event.case_id,
                aktenzeichen=row["aktenzeichen"] or "",
                sha256=event.sha256,
                channel=POSTKORB,
                provided_at=row["sent_at"],
                retrieved_at=event.retrieved_at,
                presumed=notice.presumed.isoformat(),
                bekanntgabe=notice.iso,
                by_retrieval=notice.by_retrieval,
                legal_basis=notice.legal_basis,
                appeal_ends=appeal_ends,
            ),
            subject=event.case_id,
            event_id=str(uuid.uuid5(BEKANNTGABE_NAMESPACE, f"{event.case_id}:{event.sha256}")),
        )

    async def _forward(
        self, uow: UnitOfWork, decision: DecisionMade, definition: Definition, sent: datetime
    ) -> None:
        """The authorities the procedure names for this outcome get only their fields, once."""
        for entry in definition.procedure.forward:
            if decision.outcome not in entry.outcomes:
                continue
            event_id = str(uuid.uuid5(FORWARD_NAMESPACE, f"{decision.case_id}:{entry.recipient}"))
            data = forwarded_data(entry.fields, decision.data)
            await uow.session.execute(
                uebermittlungen.insert().values(
                    event_id=event_id,
                    case_id=decision.case_id,
                    aktenzeichen=decision.aktenzeichen,
                    unit=decision.unit,
                    recipient=entry.recipient,
                    recipient_name=entry.name,
                    legal_basis=entry.legal_basis,
                    fields=sorted(data),
                    sent_at=sent.isoformat(),
                )
            )
            await uow.emit(
                AuthorityNotified(
                    case_id=decision.case_id,
                    aktenzeichen=decision.aktenzeichen,
                    service_id=decision.service_id,
                    recipient=entry.recipient,
                    recipient_name=entry.name,
                    legal_basis=entry.legal_basis,
                    data=data,
                    sent_at=sent.isoformat(),
                ),
                subject=decision.case_id,
                event_id=event_id,
            )

    # -- the staff page ------------------------------------------------------------------------

    async def deliveries(self, unit: str) -> list[dict[str, Any]]:
        """The unit's deliveries, newest first, as the page shows them."""
        async with self.kernel.db.read() as s:
            rows = (
                (
                    await s.execute(
                        sa.select(
                            bescheide.c.aktenzeichen,
                            bescheide.c.sent_at,
                            bescheide.c.bekanntgabe,
                            bescheide.c.by_retrieval,
                            bescheide.c.channel,
                            bescheide.c.mail_status,
                        )
                        .where(bescheide.c.unit == unit, bescheide.c.sha256.is_not(None))
                        .order_by(bescheide.c.sent_at.desc())
                    )
                )
                .mappings()
                .all()
            )
        return [
            {
                "aktenzeichen": r["aktenzeichen"],
                "sent_at": german_datetime(r["sent_at"]),
                "bekanntgabe": "–" if r["channel"] == AKTE else german_date(r["bekanntgabe"]),
                "by_retrieval": bool(r["by_retrieval"]),
                "channel": CHANNEL_LABELS.get(r["channel"], r["channel"]),
                "mail": MAIL_LABELS.get(r["mail_status"], "keine"),
            }
            for r in rows
        ]

    async def forwards(self, unit: str) -> list[dict[str, Any]]:
        """What the unit's cases sent to other authorities: to whom, on which legal basis,
        when (never the data itself)."""
        async with self.kernel.db.read() as s:
            rows = (
                (
                    await s.execute(
                        sa.select(
                            uebermittlungen.c.aktenzeichen,
                            uebermittlungen.c.recipient_name,
                            uebermittlungen.c.legal_basis,
                            uebermittlungen.c.sent_at,
                        )
                        .where(uebermittlungen.c.unit == unit)
                        .order_by(uebermittlungen.c.sent_at.desc(), uebermittlungen.c.recipient_name)
                    )
                )
                .mappings()
                .all()
            )
        return [{**r, "sent_at": german_datetime(r["sent_at"])} for r in rows]
