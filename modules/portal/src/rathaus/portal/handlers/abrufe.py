"""The first retrieval of a Bescheid from the Postkorb: recorded with who, when and from
where (the proof § 9 Abs. 1 OZG asks of the authority), announced to output, which
determines the day of notice again (the retrieval day, if earlier than the presumed third
day), and that day shown to the citizen."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import sqlalchemy as sa

from rathaus.contracts.common import BlobRef
from rathaus.contracts.output.v1 import BekanntgabeDetermined
from rathaus.contracts.portal.v1 import DocumentRetrieved, RetrievalRecorded
from rathaus.platform.kernel import UnitOfWork
from rathaus.platform.kernel.db import dialect_insert
from rathaus.portal.domain import Account
from rathaus.portal.handlers.base import Base, now
from rathaus.portal.handlers.organisations import visible_to
from rathaus.portal.store import organisations, postkorb
from rathaus.portal.store_abrufe import abrufe


class Retrievals(Base):
    async def retrieve(
        self, account: Account, entry_id: str, *, client_address: str, user_agent: str
    ) -> tuple[dict[str, Any], bytes] | None:
        """The Bescheid of a Postkorb entry for this account (None unless it is its own or
        one of its organisations'), marked read; its first retrieval recorded and announced
        in the same transaction. The document is read before anything is recorded: a
        retrieval that did not hand it out is never recorded."""
        async with self.kernel.db.read() as s:
            row = (
                (
                    await s.execute(
                        sa.select(postkorb, organisations.c.name.label("organisation_name"))
                        .outerjoin(
                            organisations, organisations.c.organisation_id == postkorb.c.organisation_id
                        )
                        .where(postkorb.c.entry_id == entry_id, visible_to(postkorb, account.account_id))
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        entry = dict(row)
        body = await self.kernel.blobs.get(msgspec.convert(entry["document"], BlobRef))
        at, retrieval_id = now(), str(uuid.uuid4())
        async with self.kernel.transaction() as uow:
            s = uow.session
            await s.execute(postkorb.update().where(postkorb.c.entry_id == entry_id).values(read=True))
            insert = dialect_insert(s)(abrufe)
            first = await s.execute(
                insert.values(
                    entry_id=entry_id,
                    retrieval_id=retrieval_id,
                    case_id=entry["case_id"],
                    sha256=entry["sha256"],
                    account_id=account.account_id,
                    retrieved_at=at,
                    client_address=client_address[:64],
                    user_agent=user_agent[:400],
                ).on_conflict_do_nothing()
            )
            if first.rowcount == 1:  # type: ignore[attr-defined]
                await uow.emit(
                    DocumentRetrieved(
                        retrieval_id=retrieval_id,
                        case_id=entry["case_id"],
                        sha256=entry["sha256"],
                        retrieved_at=at,
                    ),
                    subject=entry["case_id"],
                )
                await uow.emit(
                    RetrievalRecorded(
                        retrieval_id=retrieval_id,
                        case_id=entry["case_id"],
                        sha256=entry["sha256"],
                        retrieved_at=at,
                        account_id=account.account_id,
                        name=f"{account.given_name} {account.family_name}".strip(),
                        organisation=entry["organisation_name"] or "",
                        client_address=client_address[:64],
                        user_agent=user_agent[:400],
                    ),
                    subject=entry["case_id"],
                )
        return entry, body

    async def on_bekanntgabe(self, event: BekanntgabeDetermined, uow: UnitOfWork) -> None:
        """Output determined the day of notice after the first retrieval: the Postkorb and
        the case page show it (a redelivery writes the same values again)."""
        where = sa.and_(postkorb.c.case_id == event.case_id, postkorb.c.sha256 == event.sha256)
        await uow.session.execute(postkorb.update().where(where).values(bekanntgabe=event.bekanntgabe))
        await uow.session.execute(
            abrufe.update()
            .where(abrufe.c.case_id == event.case_id, abrufe.c.sha256 == event.sha256)
            .values(bekanntgabe=event.bekanntgabe, by_retrieval=event.by_retrieval)
        )

    async def notices_of(self, account: Account, case_id: str) -> list[dict[str, Any]]:
        """The Bescheide of one of the account's cases with their day of notice: presumed
        until output determined it after the first retrieval (``determined``), and whether
        the account itself retrieved it first (``mine``)."""
        async with self.kernel.db.read() as s:
            rows = (
                (
                    await s.execute(
                        sa.select(
                            postkorb.c.entry_id,
                            postkorb.c.aktenzeichen,
                            postkorb.c.bekanntgabe,
                            postkorb.c.created_at,
                            abrufe.c.retrieved_at,
                            abrufe.c.account_id.label("retrieved_by"),
                            abrufe.c.bekanntgabe.label("determined"),
                            abrufe.c.by_retrieval,
                        )
                        .outerjoin(abrufe, abrufe.c.entry_id == postkorb.c.entry_id)
                        .where(postkorb.c.case_id == case_id, visible_to(postkorb, account.account_id))
                        .order_by(postkorb.c.created_at)
                    )
                )
                .mappings()
                .all()
            )
        return [{**r, "mine": r["retrieved_by"] == account.account_id} for r in rows]
