"""The street directory published as events, so that a form's address facts need no question.

At every start the broker compares the directory it holds with the edition it published
last (the digest of its entries); a changed directory goes out as a new edition, in parts
that fit a message. The portal keeps the newest complete edition and answers from it; it
asks the broker (``address.lookup``) only while it has none.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from rathaus.broker.store import directory_editions, strassen
from rathaus.contracts.broker.v2 import DirectoryEntry, StreetDirectoryPublished
from rathaus.platform.kernel import Kernel

PART_SIZE = 2000  # entries per message: about 150 KB, well under NATS's 1 MB


async def publish_street_directory(kernel: Kernel) -> str | None:
    """Publish the directory as a new edition if it changed; returns the edition published."""
    async with kernel.db.read() as session:
        rows = (
            await session.execute(
                sa.select(
                    strassen.c.street_key,
                    strassen.c.house_number,
                    strassen.c.postal_code,
                    strassen.c.stadtbezirk,
                    strassen.c.parkzone,
                ).order_by(strassen.c.street_key, strassen.c.house_number, strassen.c.postal_code)
            )
        ).all()
    if not rows:
        return None
    entries = [
        DirectoryEntry(
            street_key=street,
            house_number=house,
            postal_code=postal,
            attributes={"stadtbezirk": district, "parkzone": zone},
        )
        for street, house, postal, district, zone in rows
    ]
    edition = hashlib.sha256(msgspec.json.encode(entries)).hexdigest()[:32]
    parts = [entries[i : i + PART_SIZE] for i in range(0, len(entries), PART_SIZE)]
    published_at = datetime.now(UTC).isoformat()
    try:
        async with kernel.transaction() as uow:
            known = await uow.session.execute(
                sa.select(directory_editions.c.edition).where(directory_editions.c.edition == edition)
            )
            if known.first() is not None:
                return None
            for number, chunk in enumerate(parts, start=1):
                await uow.emit(
                    StreetDirectoryPublished(
                        edition=edition,
                        part=number,
                        parts=len(parts),
                        entries=chunk,
                        published_at=published_at,
                    ),
                    subject=f"strassenverzeichnis-{edition}",
                    # the same edition twice (two replicas starting) is one set of events
                    event_id=f"strassenverzeichnis-{edition}-{number}",
                )
            await uow.session.execute(
                directory_editions.insert().values(
                    edition=edition, entries=len(entries), parts=len(parts), published_at=time.time()
                )
            )
    except IntegrityError:  # another replica published this edition at the same moment
        return None
    return edition
