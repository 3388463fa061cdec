"""How a case's Bescheid became notified, for staff: the day of notice output gave at the
delivery (presumed) and again after the first retrieval (``output.bekanntgabe.determined``),
with its legal basis, and the portal's evidence of that retrieval (who, when, from where)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.contracts.output.v1 import BekanntgabeDetermined, DecisionDelivered
from rathaus.contracts.portal.v1 import RetrievalRecorded
from rathaus.eakte.domain import SYSTEM
from rathaus.eakte.handlers.common import Base, record
from rathaus.eakte.store_bekanntgabe import abrufe, bekanntgaben
from rathaus.platform.kernel import UnitOfWork

BERLIN = ZoneInfo("Europe/Berlin")
CHANNELS = {"postkorb": "Postkorb", "email": "E-Mail", "akte": "nur zur Akte (nicht übermittelt)"}
# the basis output computes the end of the appeal period on (output/bekanntgabe.py APPEAL_BASIS)
APPEAL_BASIS = (
    "ein Monat ab Bekanntgabe (§§ 70, 74 VwGO), Ende nach § 57 Abs. 2 VwGO, § 222 ZPO, § 188 BGB; "
    "Samstag, Sonntag, Feiertag: nächster Werktag"
)
OLD_BASIS = (
    "zugestellt vor den Bekanntgaberegeln nach Übermittlungsweg: berechnet als dritter Tag nach "
    "der Absendung (Art. 41 Abs. 2 BayVwVfG a. F.)"
)


async def provided(session: AsyncSession, event: DecisionDelivered) -> None:
    """The Bescheid was delivered: its presumed day of notice (a redelivery keeps the row)."""
    exists = (
        await session.execute(
            sa.select(bekanntgaben.c.case_id).where(bekanntgaben.c.case_id == event.case_id)
        )
    ).first()
    if exists is not None:
        return
    await session.execute(
        bekanntgaben.insert().values(
            case_id=event.case_id,
            sha256=event.document.sha256,
            channel=event.channel,
            provided_at=event.sent_at,
            presumed=event.bekanntgabe,
            bekanntgabe=event.bekanntgabe,
            legal_basis=event.bekanntgabe_basis or OLD_BASIS,
            appeal_ends=event.appeal_ends,
        )
    )


def local_time(iso: str | None) -> str:
    """An ISO datetime as Munich's local time, "16.11.2026, 23:10 Uhr"."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return (moment.astimezone(BERLIN) if moment.tzinfo else moment).strftime("%d.%m.%Y, %H:%M Uhr")


class BekanntgabeHandlers(Base):
    async def bekanntgabe_determined(self, event: BekanntgabeDetermined, uow: UnitOfWork) -> None:
        """Output determined the day of notice after the first retrieval: the case shows it
        with its basis, and the audit trail says so once."""
        s = uow.session
        row = (
            (await s.execute(sa.select(bekanntgaben).where(bekanntgaben.c.case_id == event.case_id)))
            .mappings()
            .first()
        )
        if row is not None and row["determined"]:
            return
        values = {
            "presumed": event.presumed,
            "bekanntgabe": event.bekanntgabe,
            "by_retrieval": event.by_retrieval,
            "retrieved_at": event.retrieved_at,
            "legal_basis": event.legal_basis,
            "appeal_ends": event.appeal_ends,
            "determined": True,
        }
        if row is None:  # delivered before this record existed (eakte_0005): the event has it all
            await s.execute(
                bekanntgaben.insert().values(
                    case_id=event.case_id,
                    sha256=event.sha256,
                    channel=event.channel,
                    provided_at=event.provided_at,
                    **values,
                )
            )
        else:
            await s.execute(
                bekanntgaben.update().where(bekanntgaben.c.case_id == event.case_id).values(**values)
            )
        await record(
            s,
            SYSTEM,
            "bekanntgabe_festgestellt",
            event.case_id,
            {
                "bekanntgabe": event.bekanntgabe,
                "durch_abruf": event.by_retrieval,
                "abruf": event.retrieved_at,
            },
        )

    async def retrieval_recorded(self, event: RetrievalRecorded, uow: UnitOfWork) -> None:
        """The portal's evidence of the first retrieval, filed with the case."""
        s = uow.session
        if await self.case_row(s, event.case_id) is None:
            raise LookupError(f"case {event.case_id} is not opened yet")  # retried until it is
        exists = (
            await s.execute(
                sa.select(abrufe.c.retrieval_id).where(abrufe.c.retrieval_id == event.retrieval_id)
            )
        ).first()
        if exists is not None:
            return
        await s.execute(
            abrufe.insert().values(
                retrieval_id=event.retrieval_id,
                case_id=event.case_id,
                sha256=event.sha256,
                retrieved_at=event.retrieved_at,
                account_id=event.account_id,
                name=event.name,
                organisation=event.organisation,
                client_address=event.client_address,
                user_agent=event.user_agent,
            )
        )
        # the trail names the event; the address stays in the record the page shows
        await record(s, SYSTEM, "bescheid_abgerufen", event.case_id, {"abruf": event.retrieved_at})

    @staticmethod
    async def bekanntgabe_view(session: AsyncSession, case_id: str) -> dict[str, Any]:
        """What the case page shows of the notice of its Bescheid."""
        notice = (
            (await session.execute(sa.select(bekanntgaben).where(bekanntgaben.c.case_id == case_id)))
            .mappings()
            .first()
        )
        retrievals = (
            (
                await session.execute(
                    sa.select(abrufe).where(abrufe.c.case_id == case_id).order_by(abrufe.c.retrieved_at)
                )
            )
            .mappings()
            .all()
        )
        return {
            "bekanntgabe": dict(notice) if notice else None,
            "abrufe": [dict(r) for r in retrievals],
            "bekanntgabe_wege": CHANNELS,
            "ortszeit": local_time,
            "frist_grundlage": APPEAL_BASIS,
        }
