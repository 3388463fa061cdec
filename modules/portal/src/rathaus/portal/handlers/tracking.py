"""What comes back to the citizen: status, Aktenzeichen, the Bescheid in the Postkorb, and
who used their data. An organisation's applications and Bescheide are every member's."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import sqlalchemy as sa

from rathaus.contracts.broker.v1 import QUERY_TRANSPARENCY, TransparencyEntry, TransparencyQuery
from rathaus.contracts.common import BlobRef, Person
from rathaus.contracts.eakte.v1 import CaseOpened
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.contracts.platform.v1 import CaseStatusChanged
from rathaus.platform.kernel import UnitOfWork
from rathaus.portal.domain import Account, later_status
from rathaus.portal.handlers.base import Base, now
from rathaus.portal.handlers.organisations import visible_to
from rathaus.portal.store import applications, organisations, postkorb

NOBODY = Person(given_name="", family_name="", birth_date="")


class Tracking(Base):
    async def on_status(self, event: CaseStatusChanged, uow: UnitOfWork) -> None:
        """The case moved on: show it, unless a later status is already known (any order)."""
        current = (
            await uow.session.execute(
                sa.select(applications.c.status).where(applications.c.case_id == event.case_id)
            )
        ).scalar()
        if current is not None and later_status(current, event.status):
            await uow.session.execute(
                applications.update()
                .where(applications.c.case_id == event.case_id)
                .values(status=event.status)
            )

    async def on_opened(self, event: CaseOpened, uow: UnitOfWork) -> None:
        """The E-Akte gave the case its Aktenzeichen (cases not applied for here are ignored)."""
        await uow.session.execute(
            applications.update()
            .where(applications.c.case_id == event.case_id)
            .values(aktenzeichen=event.aktenzeichen)
        )

    async def on_delivered(self, event: DecisionDelivered, uow: UnitOfWork) -> None:
        """The Bescheid was delivered: put it in the applicant's Postkorb, once (an
        organisation's: in the Postkorb of all its members)."""
        row = (
            (
                await uow.session.execute(
                    sa.select(applications).where(applications.c.case_id == event.case_id)
                )
            )
            .mappings()
            .first()
        )
        if row is None or event.channel != "postkorb":
            return  # not applied for in this portal, or delivered another way
        exists = (
            await uow.session.execute(
                sa.select(postkorb.c.entry_id).where(
                    postkorb.c.case_id == event.case_id, postkorb.c.sha256 == event.document.sha256
                )
            )
        ).first()
        if exists is None:
            offer = self.kernel.procedures.offer(event.service_id)
            title = f"Bescheid zu Ihrem Antrag „{offer.title if offer else event.service_id}“"
            await uow.session.execute(
                postkorb.insert().values(
                    entry_id=str(uuid.uuid4()),
                    account_id=row["account_id"],
                    organisation_id=row["organisation_id"],  # then every member's
                    case_id=event.case_id,
                    title=title,
                    aktenzeichen=event.aktenzeichen,
                    bekanntgabe=event.bekanntgabe,
                    document=msgspec.to_builtins(event.document),
                    sha256=event.document.sha256,
                    read=False,
                    created_at=now(),
                )
            )
        changes: dict[str, str] = {"aktenzeichen": event.aktenzeichen}
        if later_status(row["status"], "zugestellt"):
            changes["status"] = "zugestellt"
        await uow.session.execute(
            applications.update().where(applications.c.case_id == event.case_id).values(**changes)
        )

    async def applications_of(self, account: Account) -> list[dict[str, Any]]:
        """The account's applications and its organisations' (``organisation_name`` set), newest first."""
        async with self.kernel.db.read() as s:
            rows = (
                (
                    await s.execute(
                        sa.select(applications, organisations.c.name.label("organisation_name"))
                        .outerjoin(
                            organisations, organisations.c.organisation_id == applications.c.organisation_id
                        )
                        .where(visible_to(applications, account.account_id))
                        .order_by(applications.c.submitted_at.desc(), applications.c.case_id)
                    )
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    async def application(self, account: Account, case_id: str) -> dict[str, Any] | None:
        """One application of this account or of one of its organisations (None otherwise)."""
        async with self.kernel.db.read() as s:
            row = (
                (
                    await s.execute(
                        sa.select(applications, organisations.c.name.label("organisation_name"))
                        .outerjoin(
                            organisations, organisations.c.organisation_id == applications.c.organisation_id
                        )
                        .where(
                            applications.c.case_id == case_id, visible_to(applications, account.account_id)
                        )
                    )
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    async def postkorb_of(self, account: Account) -> list[dict[str, Any]]:
        """The account's Postkorb entries and its organisations' (``organisation_name`` set)."""
        async with self.kernel.db.read() as s:
            rows = (
                (
                    await s.execute(
                        sa.select(postkorb, organisations.c.name.label("organisation_name"))
                        .outerjoin(
                            organisations, organisations.c.organisation_id == postkorb.c.organisation_id
                        )
                        .where(visible_to(postkorb, account.account_id))
                        .order_by(postkorb.c.created_at.desc(), postkorb.c.entry_id)
                    )
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    async def open_entry(self, account: Account, entry_id: str) -> tuple[dict[str, Any], bytes] | None:
        """The Bescheid of a Postkorb entry, marked read; None unless it is this account's or
        one of its organisations' (an organisation's entry is read once any member opened it)."""
        async with self.kernel.db.session() as s:
            row = (
                (
                    await s.execute(
                        sa.select(postkorb).where(
                            postkorb.c.entry_id == entry_id, visible_to(postkorb, account.account_id)
                        )
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            await s.execute(postkorb.update().where(postkorb.c.entry_id == entry_id).values(read=True))
        return dict(row), await self.kernel.blobs.get(msgspec.convert(row["document"], BlobRef))

    async def transparency(self, account: Account) -> list[TransparencyEntry]:
        """The broker's log of exchanges concerning this citizen; raises ``RpcFailed``.

        Only an account with a verified identity sees the exchanges about the person of that
        name; an unverified one sees those its own requests caused.
        """
        person = account.person if account.verified else NOBODY
        log = await self.kernel.ask(
            QUERY_TRANSPARENCY, TransparencyQuery(account_id=account.account_id, person=person)
        )
        return log.entries
