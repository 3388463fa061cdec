"""The open-data portal's database: one fact per case (only what the statistics need),
one per case whose fee was paid online, and the state of each dataset. Portable SQLAlchemy Core: SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.opendata.domain.datasets import ABGELEHNT, ANTRAEGE, BEWILLIGT
from rathaus.opendata.domain.payments import BEZAHLT, ERSTATTET

metadata = sa.MetaData()

# One row per case, whatever the order and number of deliveries of its events; no names,
# no addresses, no Aktenzeichen, no timestamps finer than the month once the case is
# complete: the start (submission) and end (delivery) wait only until the other half of the
# case arrives, then only the duration in whole hours remains.
faelle = sa.Table(
    "faelle",
    metadata,
    sa.Column("case_id", sa.String(64), primary_key=True),  # the join key; never published
    sa.Column("service_id", sa.String(64), nullable=False),
    sa.Column("stadtbezirk", sa.String(80)),  # from CaseOpened, normalised
    sa.Column("antrag_monat", sa.String(7)),  # YYYY-MM the case was opened; None until then
    sa.Column("ergebnis", sa.String(16)),  # granted | refused, from DecisionDelivered
    sa.Column("bescheid_monat", sa.String(7)),  # YYYY-MM the Bescheid was delivered
    sa.Column("beginn", sa.String(40)),  # ISO submission time, until the delivery is known
    sa.Column("ende", sa.String(40)),  # ISO delivery time, until the submission is known
    sa.Column("dauer_stunden", sa.Integer),  # whole hours from submission to delivery
)
sa.Index("ix_faelle_service", faelle.c.service_id)

# One row per case whose fee was paid online or refunded, whatever the order and number of
# the payment events: the payment method, the month it was paid, the attempt whose payment
# counts and the month the fee was refunded. No Kassenzeichen, no transaction
# id, no amount, no timestamp finer than the month.
zahlungen = sa.Table(
    "zahlungen",
    metadata,
    sa.Column("case_id", sa.String(64), primary_key=True),  # the join key; never published
    sa.Column("versuch", sa.Integer),  # the attempt whose payment counts; None until paid
    sa.Column("zahlungsart", sa.String(16)),  # one of payments.ZAHLUNGSARTEN
    sa.Column("bezahlt_monat", sa.String(7)),  # YYYY-MM the fee was paid
    sa.Column("erstattet_monat", sa.String(7)),  # YYYY-MM the fee was refunded (first refund)
)

datensaetze = sa.Table(
    "datensaetze",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("angelegt", sa.String(40), nullable=False),  # ISO datetime, UTC
    sa.Column("geaendert", sa.String(40), nullable=False),  # last change of its numbers
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
)


@dataclass(frozen=True)
class Halves:
    """What is known of a case so far."""

    opened: bool
    delivered: bool
    beginn: str | None
    ende: str | None
    dauer_stunden: int | None


@dataclass(frozen=True)
class Stand:
    created: str
    modified: str
    version: int


async def _insert_ignore(session: AsyncSession, table: sa.Table, values: dict[str, Any]) -> None:
    """INSERT unless the primary key exists. Never an IntegrityError: the kernel takes an
    IntegrityError in a handler for a duplicate delivery and would drop the event."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        await session.execute(sqlite.insert(table).values(values).on_conflict_do_nothing())
    elif dialect == "postgresql":
        await session.execute(postgresql.insert(table).values(values).on_conflict_do_nothing())
    else:
        key = table.primary_key.columns.values()[0]
        found = await session.execute(sa.select(key).where(key == values[key.name]))
        if found.first() is None:
            await session.execute(table.insert().values(values))


async def record_opened(
    session: AsyncSession, case_id: str, service_id: str, stadtbezirk: str, monat: str, beginn: str
) -> bool:
    """The opened half of a case; True if it is new (a case is opened once)."""
    await _insert_ignore(session, faelle, {"case_id": case_id, "service_id": service_id})
    result = await session.execute(
        faelle.update()
        .where(faelle.c.case_id == case_id, faelle.c.antrag_monat.is_(None))
        .values(stadtbezirk=stadtbezirk, antrag_monat=monat, beginn=beginn)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def record_delivered(
    session: AsyncSession, case_id: str, service_id: str, ergebnis: str, monat: str, ende: str
) -> bool:
    """The delivered half of a case; True if it is new (the first delivery counts)."""
    await _insert_ignore(session, faelle, {"case_id": case_id, "service_id": service_id})
    result = await session.execute(
        faelle.update()
        .where(faelle.c.case_id == case_id, faelle.c.ergebnis.is_(None))
        .values(ergebnis=ergebnis, bescheid_monat=monat, ende=ende)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def halves(session: AsyncSession, case_id: str) -> Halves:
    row = (
        await session.execute(
            sa.select(
                faelle.c.antrag_monat,
                faelle.c.ergebnis,
                faelle.c.beginn,
                faelle.c.ende,
                faelle.c.dauer_stunden,
            ).where(faelle.c.case_id == case_id)
        )
    ).one()
    return Halves(
        row.antrag_monat is not None, row.ergebnis is not None, row.beginn, row.ende, row.dauer_stunden
    )


async def settle(session: AsyncSession, case_id: str, dauer_stunden: int | None) -> None:
    """Both halves are known: keep the duration (None: unknown, a case from before
    durations were kept), drop the timestamps."""
    await session.execute(
        faelle.update()
        .where(faelle.c.case_id == case_id)
        .values(beginn=None, ende=None, dauer_stunden=dauer_stunden)
    )


async def ensure_dataset(session: AsyncSession, dataset_id: str, now: str) -> None:
    await _insert_ignore(session, datensaetze, {"id": dataset_id, "angelegt": now, "geaendert": now})


async def touch(session: AsyncSession, dataset_id: str, now: str) -> None:
    """The numbers of a dataset changed."""
    await ensure_dataset(session, dataset_id, now)
    await session.execute(
        datensaetze.update()
        .where(datensaetze.c.id == dataset_id)
        .values(geaendert=now, version=datensaetze.c.version + 1)
    )


async def stand(session: AsyncSession, dataset_id: str) -> Stand | None:
    row = (
        await session.execute(
            sa.select(datensaetze.c.angelegt, datensaetze.c.geaendert, datensaetze.c.version).where(
                datensaetze.c.id == dataset_id
            )
        )
    ).first()
    return Stand(row.angelegt, row.geaendert, row.version) if row else None


async def counts(session: AsyncSession, service_id: str) -> dict[str, Mapping[tuple[str, str], int]]:
    """Applications per (Stadtbezirk, month opened); grants and refusals per (Stadtbezirk,
    month delivered), counted only once the case's opened half (its district) is known."""
    n = sa.func.count()
    opened = faelle.c.antrag_monat.is_not(None)
    of_service = faelle.c.service_id == service_id
    antraege = await session.execute(
        sa.select(faelle.c.stadtbezirk, faelle.c.antrag_monat, n)
        .where(of_service, opened)
        .group_by(faelle.c.stadtbezirk, faelle.c.antrag_monat)
    )
    out: dict[str, Mapping[tuple[str, str], int]] = {ANTRAEGE: {(r, m): int(c) for r, m, c in antraege.all()}}
    for key, ergebnis in ((BEWILLIGT, "granted"), (ABGELEHNT, "refused")):
        decided = await session.execute(
            sa.select(faelle.c.stadtbezirk, faelle.c.bescheid_monat, n)
            .where(of_service, opened, faelle.c.ergebnis == ergebnis)
            .group_by(faelle.c.stadtbezirk, faelle.c.bescheid_monat)
        )
        out[key] = {(r, m): int(c) for r, m, c in decided.all()}
    return out


async def durations(session: AsyncSession, service_id: str) -> dict[str, list[int]]:
    """The hours from submission to delivery per month of delivery, of the cases the
    count tables count as delivered (opened half known)."""
    result = await session.execute(
        sa.select(faelle.c.bescheid_monat, faelle.c.dauer_stunden).where(
            faelle.c.service_id == service_id,
            faelle.c.antrag_monat.is_not(None),
            faelle.c.ergebnis.in_(("granted", "refused")),
            faelle.c.dauer_stunden.is_not(None),
        )
    )
    out: dict[str, list[int]] = {}
    for monat, hours in result.all():
        out.setdefault(monat, []).append(int(hours))
    return out


async def record_paid(
    session: AsyncSession, case_id: str, versuch: int, zahlungsart: str, monat: str
) -> bool:
    """A payment of the case's fee; True if it changed the fact: the case's first payment,
    or one earlier than the one counted so far (an earlier month; in the same month, an
    earlier attempt), so the fact ends the same in any order of the payments."""
    await _insert_ignore(session, zahlungen, {"case_id": case_id})
    c = zahlungen.c
    earlier = sa.or_(c.bezahlt_monat > monat, sa.and_(c.bezahlt_monat == monat, c.versuch > versuch))
    result = await session.execute(
        zahlungen.update()
        .where(c.case_id == case_id, sa.or_(c.versuch.is_(None), earlier))
        .values(versuch=versuch, zahlungsart=zahlungsart, bezahlt_monat=monat)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def record_refunded(session: AsyncSession, case_id: str, monat: str) -> bool:
    """The refund of the case's fee; True if it changed the fact (the first refund, or one
    booked in an earlier month than the one known so far)."""
    await _insert_ignore(session, zahlungen, {"case_id": case_id})
    result = await session.execute(
        zahlungen.update()
        .where(
            zahlungen.c.case_id == case_id,
            sa.or_(zahlungen.c.erstattet_monat.is_(None), zahlungen.c.erstattet_monat > monat),
        )
        .values(erstattet_monat=monat)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def payment_counts(session: AsyncSession) -> dict[str, Mapping[tuple[str, str], int]]:
    """Fees paid per (Zahlungsart, month paid); refunded per (Zahlungsart, month refunded),
    counted only once the payment is known (a refund without one says nothing yet)."""
    n = sa.func.count()
    paid = zahlungen.c.versuch.is_not(None)
    bezahlt = await session.execute(
        sa.select(zahlungen.c.zahlungsart, zahlungen.c.bezahlt_monat, n)
        .where(paid)
        .group_by(zahlungen.c.zahlungsart, zahlungen.c.bezahlt_monat)
    )
    erstattet = await session.execute(
        sa.select(zahlungen.c.zahlungsart, zahlungen.c.erstattet_monat, n)
        .where(paid, zahlungen.c.erstattet_monat.is_not(None))
        .group_by(zahlungen.c.zahlungsart, zahlungen.c.erstattet_monat)
    )
    return {
        BEZAHLT: {(z, m): int(c) for z, m, c in bezahlt.all()},
        ERSTATTET: {(z, m): int(c) for z, m, c in erstattet.all()},
    }
