"""What arrives for a closed Vorgang (zdA or storniert) is never dropped: it is filed or
recorded as usual, and the case is marked "Eingang nach Abschluss" for the case worker, who
sees it in the inbox and on the case page (and reopens the case through the Leitung, or
notes that nothing is to be done)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.eakte.domain import LIFECYCLE_OPEN, SYSTEM
from rathaus.eakte.handlers.common import now, record
from rathaus.eakte.store import vorgaenge


async def lifecycle_of(session: AsyncSession, case_id: str) -> str | None:
    return (
        await session.execute(sa.select(vorgaenge.c.lifecycle).where(vorgaenge.c.case_id == case_id))
    ).scalar()


async def arrived_after_close(
    session: AsyncSession, case_id: str, what: str, details: dict[str, Any]
) -> bool:
    """Mark a closed case that something arrived for; True when it was closed. ``what``
    names the arrival in the audit trail (e.g. "dokument", "entscheidung_angefordert")."""
    state = await lifecycle_of(session, case_id)
    if state is None or state == LIFECYCLE_OPEN:
        return False
    at = now()
    await session.execute(
        vorgaenge.update().where(vorgaenge.c.case_id == case_id).values(eingang_nach_abschluss=at)
    )
    await record(
        session, SYSTEM, "eingang_nach_abschluss", case_id, {"eingang": what, "lifecycle": state, **details}
    )
    return True
