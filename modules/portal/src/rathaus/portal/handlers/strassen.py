"""The street directory in the portal: kept from the broker's events, asked by the form.

A form with an address learns its facts (Stadtbezirk, parking zone) from the directory.
The portal keeps the newest complete edition the data broker published
(``broker.street-directory.published``) and answers from it, so a submission needs no
round trip to the broker and the facts are there while the broker is away; until a first
edition is complete, the form asks the broker (``address.lookup``) as before.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from rathaus.contracts.addresses import ADDRESS_UNKNOWN, house_key, street_key
from rathaus.contracts.broker.v2 import StreetDirectoryPublished
from rathaus.platform.kernel.db import dialect_insert
from rathaus.platform.kernel.uow import UnitOfWork
from rathaus.portal.handlers.base import Base
from rathaus.portal.store_strassen import (
    strassenverzeichnis,
    strassenverzeichnis_aktuell,
    strassenverzeichnis_teile,
)

CURRENT = "aktuell"


class StreetDirectory(Base):
    async def on_street_directory(self, event: StreetDirectoryPublished, uow: UnitOfWork) -> None:
        """Keep one part of an edition; once all parts are there and the edition is newer
        than the one in use, answer from it and drop the older ones. Parts may come in any
        order and more than once."""
        s = uow.session
        insert = dialect_insert(s)
        if event.entries:
            await s.execute(
                insert(strassenverzeichnis).on_conflict_do_nothing(),
                [
                    {
                        "edition": event.edition,
                        "street_key": e.street_key,
                        "postal_code": e.postal_code,
                        "house_number": e.house_number,
                        "attributes": dict(e.attributes),
                    }
                    for e in event.entries
                ],
            )
        await s.execute(
            insert(strassenverzeichnis_teile)
            .values(
                edition=event.edition, part=event.part, parts=event.parts, published_at=event.published_at
            )
            .on_conflict_do_nothing()
        )
        arrived = (
            await s.execute(
                sa.select(sa.func.count()).where(strassenverzeichnis_teile.c.edition == event.edition)
            )
        ).scalar_one()
        if arrived < event.parts:
            return
        current = (
            (
                await s.execute(
                    sa.select(strassenverzeichnis_aktuell).where(
                        strassenverzeichnis_aktuell.c.name == CURRENT
                    )
                )
            )
            .mappings()
            .first()
        )
        if current is not None and (
            current["edition"] == event.edition or current["published_at"] > event.published_at
        ):
            return  # this edition is in use, or a later one is (a replayed old edition)
        if current is None:
            await s.execute(
                strassenverzeichnis_aktuell.insert().values(
                    name=CURRENT, edition=event.edition, published_at=event.published_at
                )
            )
        else:
            await s.execute(
                strassenverzeichnis_aktuell.update()
                .where(strassenverzeichnis_aktuell.c.name == CURRENT)
                .values(edition=event.edition, published_at=event.published_at)
            )
        older = sa.select(strassenverzeichnis_teile.c.edition).where(
            strassenverzeichnis_teile.c.published_at < event.published_at
        )
        await s.execute(strassenverzeichnis.delete().where(strassenverzeichnis.c.edition.in_(older)))
        await s.execute(
            strassenverzeichnis_teile.delete().where(strassenverzeichnis_teile.c.edition.in_(older))
        )

    async def directory_facts(
        self, street: str, house_number: str, postal_code: str
    ) -> dict[str, Any] | None:
        """The facts of an address from the portal's edition of the directory, as the broker
        would answer them: an exact address wins; without one, a street whose known addresses
        under that postal code all lie alike answers for the whole street. None while the
        portal has no complete edition."""
        async with self.kernel.db.read() as s:
            edition = (
                await s.execute(
                    sa.select(strassenverzeichnis_aktuell.c.edition).where(
                        strassenverzeichnis_aktuell.c.name == CURRENT
                    )
                )
            ).scalar_one_or_none()
            if edition is None:
                return None
            rows = (
                await s.execute(
                    sa.select(strassenverzeichnis.c.house_number, strassenverzeichnis.c.attributes).where(
                        strassenverzeichnis.c.edition == edition,
                        strassenverzeichnis.c.street_key == street_key(street),
                        strassenverzeichnis.c.postal_code == postal_code.strip(),
                    )
                )
            ).all()
        house = house_key(house_number)
        exact = [attributes for number, attributes in rows if number == house]
        places = {tuple(sorted(a.items())) for a in (exact or [attributes for _, attributes in rows])}
        if len(places) != 1:
            return {"found": False, "attributes": {}, "message": ADDRESS_UNKNOWN}
        return {"found": True, "attributes": dict(places.pop()), "message": ""}
