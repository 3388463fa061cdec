"""Use cases of output management: render, seal and deliver a Bescheid once both the
decision and the delivery command are there; notify by e-mail."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

import msgspec
import sqlalchemy as sa

from rathaus.contracts.eakte.v1 import DecisionMade
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.contracts.platform.v1 import DeliverDecision
from rathaus.contracts.procedures import procedure
from rathaus.output.domain import bekanntgabe
from rathaus.output.mail import notification, send
from rathaus.output.render import Seal, render_pdf
from rathaus.output.store import bescheide
from rathaus.platform.kernel import Kernel, UnitOfWork

log = logging.getLogger("rathaus.output")
MAX_MAIL_ATTEMPTS = 8


class Output:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.seal = Seal(kernel.settings.data_dir / "output" / "siegel")
        self.mail_wakeup = asyncio.Event()

    async def _row(self, uow: UnitOfWork, case_id: str) -> dict[str, Any]:
        row = (
            (await uow.session.execute(sa.select(bescheide).where(bescheide.c.case_id == case_id)))
            .mappings()
            .first()
        )
        if row is None:
            await uow.session.execute(bescheide.insert().values(case_id=case_id))
            return {"case_id": case_id, "decision": None, "command": None, "sha256": None}
        return dict(row)

    async def on_decision(self, event: DecisionMade, uow: UnitOfWork) -> None:
        row = await self._row(uow, event.case_id)
        await uow.session.execute(
            bescheide.update()
            .where(bescheide.c.case_id == event.case_id)
            .values(decision=msgspec.to_builtins(event), unit=event.unit, aktenzeichen=event.aktenzeichen)
        )
        await self._deliver_if_ready(uow, {**row, "decision": msgspec.to_builtins(event)})

    async def on_command(self, event: DeliverDecision, uow: UnitOfWork) -> None:
        row = await self._row(uow, event.case_id)
        await uow.session.execute(
            bescheide.update()
            .where(bescheide.c.case_id == event.case_id)
            .values(command=msgspec.to_builtins(event))
        )
        await self._deliver_if_ready(uow, {**row, "command": msgspec.to_builtins(event)})

    async def _deliver_if_ready(self, uow: UnitOfWork, row: dict[str, Any]) -> None:
        if row["decision"] is None or row["command"] is None or row["sha256"] is not None:
            return  # waiting for the other half, or delivered already
        decision = msgspec.convert(row["decision"], DecisionMade)
        command = row["command"]
        proc = procedure(decision.service_id)
        template = command.get("template") or proc.templates[decision.outcome]
        sent = datetime.now(UTC)
        context = {
            **msgspec.to_builtins(decision),
            "datum": sent.date().isoformat(),
            "submitted": decision.decided_at[:10],
        }
        pdf = await asyncio.to_thread(lambda: self.seal.apply(render_pdf(template, context)))
        ref = await self.kernel.blobs.put(
            "output", pdf, media_type="application/pdf", filename=f"Bescheid-{decision.aktenzeichen}.pdf"
        )
        notice = bekanntgabe(sent.date()).isoformat()
        channel = command.get("channel") or proc.delivery.channel
        await uow.session.execute(
            bescheide.update()
            .where(bescheide.c.case_id == decision.case_id)
            .values(
                sha256=ref.sha256,
                document=msgspec.to_builtins(ref),
                sent_at=sent.isoformat(),
                bekanntgabe=notice,
                channel=channel,
                mail_to=decision.recipient.email,
                mail_status="pending" if proc.delivery.notify_email else "none",
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
            ),
            subject=decision.case_id,
        )
        self.mail_wakeup.set()

    async def send_pending_mails(self) -> int:
        """Send notifications not yet sent; each at most once. Returns how many went out."""
        if self.kernel.settings.smtp.host is None:
            return 0
        async with self.kernel.db.session() as s:
            rows = (
                await s.execute(
                    sa.select(bescheide.c.case_id, bescheide.c.mail_to, bescheide.c.aktenzeichen).where(
                        bescheide.c.mail_status == "pending", bescheide.c.mail_attempts < MAX_MAIL_ATTEMPTS
                    )
                )
            ).all()
        sent = 0
        for case_id, to, az in rows:
            try:
                await send(self.kernel.settings, notification(self.kernel.settings, to, az))
                status, sent = "sent", sent + 1
            except Exception as exc:  # the mail server may be down: try again later
                log.warning("notification for a delivery could not be sent: %s", type(exc).__name__)
                status = "pending"
            async with self.kernel.db.session() as s:
                await s.execute(
                    bescheide.update()
                    .where(bescheide.c.case_id == case_id)
                    .values(mail_status=status, mail_attempts=bescheide.c.mail_attempts + 1)
                )
        return sent

    async def mail_loop(self) -> None:
        while True:
            self.mail_wakeup.clear()  # before the round, so a delivery during it is not missed
            try:
                await self.send_pending_mails()
            except Exception:
                log.exception("mail round failed")
            with contextlib.suppress(TimeoutError):  # retry failed mails at least every 30 s
                await asyncio.wait_for(self.mail_wakeup.wait(), timeout=30)

    async def deliveries(self, unit: str) -> list[dict[str, Any]]:
        async with self.kernel.db.session() as s:
            rows = (
                (
                    await s.execute(
                        sa.select(bescheide)
                        .where(bescheide.c.unit == unit, bescheide.c.sha256.is_not(None))
                        .order_by(bescheide.c.sent_at.desc())
                    )
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]
