"""Whether a case may still be worked on: not while it is being handed to another authority
or after it was (Abgabe), and not while its personal data are restricted (Art. 18 DSGVO)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.eakte.domain import DecisionRefused
from rathaus.eakte.records import check_writable
from rathaus.eakte.store_abgabe import abgaben, datenschutz

OUT = "ausgehend"
IN = "eingehend"
SENT, RECEIVED, HANDED_OVER, FAILED = "gesendet", "empfangen", "abgegeben", "fehlgeschlagen"
IMPORTED, REJECTED = "importiert", "abgewiesen"
RUNNING = (SENT, RECEIVED)
# the data-protection states of a case (no row: normal processing)
RESTRICTED, DELETED = "eingeschraenkt", "geloescht"


async def case_lock(session: AsyncSession, case_id: str) -> str:
    """Why the case may not be changed (a German sentence), or "" when it may."""
    handover = (
        (
            await session.execute(
                sa.select(abgaben.c.status, abgaben.c.partner_name, abgaben.c.done_at)
                .where(abgaben.c.case_id == case_id, abgaben.c.direction == OUT)
                .where(abgaben.c.status.in_((*RUNNING, HANDED_OVER)))
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    if handover is not None:
        if handover["status"] == HANDED_OVER:
            return (
                f"Der Vorgang wurde am {(handover['done_at'] or '')[:10]} an {handover['partner_name']} "
                "abgegeben und kann hier nicht mehr bearbeitet werden."
            )
        return (
            f"Der Vorgang wird gerade an {handover['partner_name']} abgegeben; bis zur "
            "Importbestätigung kann er nicht bearbeitet werden."
        )
    state = (
        await session.execute(sa.select(datenschutz.c.state).where(datenschutz.c.case_id == case_id))
    ).scalar()
    if state == RESTRICTED:
        return (
            "Die Verarbeitung der personenbezogenen Daten dieses Vorgangs ist eingeschränkt "
            "(Löschersuchen nach Art. 17 DSGVO während der Aufbewahrungsfrist, Art. 18 DSGVO): "
            "die Daten werden nur noch aufbewahrt, nicht weiter bearbeitet."
        )
    if state == DELETED:
        return "Die personenbezogenen Daten dieses Vorgangs wurden gelöscht."
    return ""


async def check_workable(
    session: AsyncSession, case_id: str, lifecycle: str, refused: type[DecisionRefused] = DecisionRefused
) -> None:
    """Staff may change the case: it is open (its records lifecycle) and neither handed over
    nor restricted. Raises LifecycleRefused, or ``refused`` with the lock's reason."""
    check_writable(lifecycle)
    if locked := await case_lock(session, case_id):
        raise refused(locked)
