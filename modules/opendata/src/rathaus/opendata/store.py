"""The open-data portal's database: one fact per case (only what the statistics need),
one per case whose fee was paid online, and the state of each dataset. Portable SQLAlchemy Core: SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.opendata.domain.datasets import ABGELEHNT, ANTRAEGE, BEWILLIGT
from rathaus.opendata.domain.payments import BEZAHLT, ERSTATTET
from rathaus.opendata.domain.postkorb import (
    AUSSTEHEND,
    BG_TABLES,
    DRITTER_TAG,
    FAELLE,
    NF_TABLES,
    POSTKORB,
    answer,
    outcome,
)
from rathaus.opendata.domain.times import hours_between, moment
from rathaus.platform.kernel.db import dialect_insert

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

# One row per Nachforderung (a case may have several, one after the other), whatever the
# order and number of deliveries of its events: its service and month, how it was answered
# and the whole hours until the reply. No text, no names, no Aktenzeichen; the request's
# time and deadline wait only for the reply (the reply's time only for the request), then
# only the outcome and the hours remain.
nachforderungen = sa.Table(
    "nachforderungen",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),  # the join key; never published
    sa.Column("case_id", sa.String(64), nullable=False),  # counts cases; never published
    sa.Column("service_id", sa.String(64)),  # None until DocumentsRequested
    sa.Column("monat", sa.String(7)),  # YYYY-MM it was sent; None until DocumentsRequested
    sa.Column("angefordert", sa.String(40)),  # ISO time it was sent, until the reply is known
    sa.Column("frist", sa.String(10)),  # ISO date of the deadline, until the reply is known
    sa.Column("antwort", sa.String(40)),  # ISO time of the earliest reply, until the request is known
    sa.Column("ergebnis", sa.String(16)),  # fristgerecht | verspaetet once a reply is known
    sa.Column("antwort_stunden", sa.Integer),  # whole hours from the request to the reply
    sa.Column("aktenlage", sa.Boolean, nullable=False, server_default=sa.false()),  # lapsed (level 2)
)
sa.Index("ix_nachforderungen_service", nachforderungen.c.service_id)
sa.Index("ix_nachforderungen_case", nachforderungen.c.case_id)

# One row per case with a delivered Bescheid: its service, the month it was delivered, the
# channel and how it was notified. The presumed third day of a Postkorb Bescheid waits only
# until it has passed or the first retrieval decides; then only the kind remains.
bekanntgaben = sa.Table(
    "bekanntgaben",
    metadata,
    sa.Column("case_id", sa.String(64), primary_key=True),  # the join key; never published
    sa.Column("service_id", sa.String(64)),  # None until DecisionDelivered
    sa.Column("monat", sa.String(7)),  # YYYY-MM the Bescheid was delivered (provided)
    sa.Column("kanal", sa.String(16)),  # postkorb | email | post | akte
    sa.Column("art", sa.String(24)),  # one of postkorb.BG_TABLES but ausstehend; None: pending
    sa.Column("vermutet", sa.String(10)),  # ISO date of the presumed third day, while pending
)
sa.Index("ix_bekanntgaben_service", bekanntgaben.c.service_id)
sa.Index("ix_bekanntgaben_vermutet", bekanntgaben.c.vermutet)

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
    await session.execute(dialect_insert(session)(table).values(values).on_conflict_do_nothing())


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


# -- the Postkorb: Nachforderungen ------------------------------------------------------------


async def _nachforderung(session: AsyncSession, request_id: str) -> sa.RowMapping:
    return (
        (await session.execute(sa.select(nachforderungen).where(nachforderungen.c.request_id == request_id)))
        .mappings()
        .one()
    )


async def _settle_request(session: AsyncSession, request_id: str) -> None:
    """Once the request and a reply are known: keep how it was answered and the hours, drop
    the times and the deadline."""
    row = await _nachforderung(session, request_id)
    if row["monat"] is None or row["antwort"] is None or row["ergebnis"] is not None:
        return
    await session.execute(
        nachforderungen.update()
        .where(nachforderungen.c.request_id == request_id)
        .values(
            ergebnis=answer(row["antwort"], row["frist"]),
            antwort_stunden=hours_between(row["angefordert"], row["antwort"]),
            angefordert=None,
            frist=None,
            antwort=None,
        )
    )


async def record_requested(
    session: AsyncSession,
    request_id: str,
    case_id: str,
    service_id: str,
    monat: str,
    angefordert: str,
    frist: str,
) -> bool:
    """A Nachforderung was sent; True if it is new (a reply known already settles it)."""
    await _insert_ignore(session, nachforderungen, {"request_id": request_id, "case_id": case_id})
    result = await session.execute(
        nachforderungen.update()
        .where(nachforderungen.c.request_id == request_id, nachforderungen.c.monat.is_(None))
        .values(service_id=service_id, monat=monat, angefordert=angefordert, frist=frist)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    await _settle_request(session, request_id)
    return True


async def record_reply(session: AsyncSession, request_id: str, case_id: str, filed_at: str) -> bool:
    """A reply to the Nachforderung was filed; True if it changed the fact. While the request
    is unknown the earliest reply is kept; once the Nachforderung is answered, later replies
    change nothing."""
    await _insert_ignore(session, nachforderungen, {"request_id": request_id, "case_id": case_id})
    row = await _nachforderung(session, request_id)
    if row["ergebnis"] is not None:
        return False
    if row["antwort"] is not None and moment(row["antwort"], "Antwort") <= moment(filed_at, "Antwort"):
        return False
    await session.execute(
        nachforderungen.update().where(nachforderungen.c.request_id == request_id).values(antwort=filed_at)
    )
    await _settle_request(session, request_id)
    return row["monat"] is not None


async def record_lapsed(session: AsyncSession, request_id: str, case_id: str) -> bool:
    """Staff were told to decide with what they have (DocumentsOverdue level 2); True if it
    changed the counts (the request is known and no reply is)."""
    await _insert_ignore(session, nachforderungen, {"request_id": request_id, "case_id": case_id})
    result = await session.execute(
        nachforderungen.update()
        .where(nachforderungen.c.request_id == request_id, nachforderungen.c.aktenlage.is_(False))
        .values(aktenlage=True)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    row = await _nachforderung(session, request_id)
    return row["monat"] is not None and row["ergebnis"] is None


Grid = dict[tuple[str, str], int]


async def nachforderung_counts(session: AsyncSession) -> dict[str, Mapping[tuple[str, str], int]]:
    """Per (service, month sent): the known Nachforderungen by outcome (unanswered when the
    case's Bescheid was delivered: decided nach Aktenlage); the cases with one by the month
    of their first."""
    c = nachforderungen.c
    known = sa.and_(c.monat.is_not(None), c.service_id.is_not(None))
    out: dict[str, Grid] = {key: {} for key in NF_TABLES}
    decided = faelle.c.ergebnis.is_not(None).label("entschieden")  # its Bescheid is delivered
    grouped = await session.execute(
        sa.select(c.service_id, c.monat, c.ergebnis, c.aktenlage, decided, sa.func.count())
        .select_from(nachforderungen.outerjoin(faelle, faelle.c.case_id == c.case_id))
        .where(known)
        .group_by(c.service_id, c.monat, c.ergebnis, c.aktenlage, decided)
    )
    for service_id, monat, ergebnis, aktenlage, entschieden, n in grouped.all():
        cell = out[outcome(ergebnis, bool(aktenlage) or bool(entschieden))]
        cell[(service_id, monat)] = cell.get((service_id, monat), 0) + int(n)
    first = (
        sa.select(c.service_id, sa.func.min(c.monat).label("monat"))
        .where(known)
        .group_by(c.service_id, c.case_id)
        .subquery()
    )
    cases = await session.execute(
        sa.select(first.c.service_id, first.c.monat, sa.func.count()).group_by(
            first.c.service_id, first.c.monat
        )
    )
    out[FAELLE] = {(s, m): int(n) for s, m, n in cases.all()}
    return {key: grid for key, grid in out.items() if grid}


async def reply_hours(session: AsyncSession) -> dict[tuple[str, str], list[int]]:
    """The hours until the reply of the answered Nachforderungen, per (service, month sent)."""
    c = nachforderungen.c
    result = await session.execute(
        sa.select(c.service_id, c.monat, c.antwort_stunden).where(
            c.monat.is_not(None),
            c.service_id.is_not(None),
            c.ergebnis.is_not(None),
            c.antwort_stunden.is_not(None),
        )
    )
    out: dict[tuple[str, str], list[int]] = {}
    for service_id, monat, hours in result.all():
        out.setdefault((service_id, monat), []).append(int(hours))
    return out


# -- the Postkorb: Bekanntgabe ----------------------------------------------------------------


async def record_delivery(
    session: AsyncSession,
    case_id: str,
    service_id: str,
    monat: str,
    kanal: str,
    art: str | None,
    vermutet: str,
) -> bool:
    """A Bescheid was delivered (the first delivery counts); ``art`` None: a Postkorb
    Bescheid pending until its presumed day ``vermutet`` — unless its first retrieval is
    known already. True if it changed the counts."""
    await _insert_ignore(session, bekanntgaben, {"case_id": case_id})
    row = (
        (await session.execute(sa.select(bekanntgaben).where(bekanntgaben.c.case_id == case_id)))
        .mappings()
        .one()
    )
    if row["service_id"] is not None:
        return False
    determined = row["art"] is not None and kanal == POSTKORB  # the retrieval came first
    await session.execute(
        bekanntgaben.update()
        .where(bekanntgaben.c.case_id == case_id)
        .values(
            service_id=service_id,
            monat=monat,
            kanal=kanal,
            art=row["art"] if determined else art,
            vermutet=None if determined or art is not None else vermutet,
        )
    )
    return True


async def record_determined(session: AsyncSession, case_id: str, monat: str, art: str) -> bool:
    """Output management determined how the Postkorb Bescheid was notified (after its first
    retrieval): this kind replaces a pending or assumed one. True if the counts changed."""
    await _insert_ignore(session, bekanntgaben, {"case_id": case_id})
    c = bekanntgaben.c
    result = await session.execute(
        bekanntgaben.update()
        .where(
            c.case_id == case_id,
            sa.or_(c.kanal.is_(None), c.kanal == POSTKORB),
            sa.or_(c.art.is_(None), c.art != art),
        )
        .values(art=art, vermutet=None, monat=sa.func.coalesce(c.monat, monat))
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    row = (await session.execute(sa.select(c.service_id).where(c.case_id == case_id))).one()
    return row.service_id is not None


async def settle_presumed(session: AsyncSession, today: str) -> int:
    """Postkorb Bescheide whose presumed third day lies before ``today`` (ISO date) and
    whose first retrieval is not known: notified on the third day; how many."""
    c = bekanntgaben.c
    result = await session.execute(
        bekanntgaben.update()
        .where(c.art.is_(None), c.kanal == POSTKORB, c.vermutet.is_not(None), c.vermutet < today)
        .values(art=DRITTER_TAG, vermutet=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def bekanntgabe_counts(session: AsyncSession) -> dict[str, Mapping[tuple[str, str], int]]:
    """Bescheide per (service, month delivered) by how they were notified."""
    c = bekanntgaben.c
    result = await session.execute(
        sa.select(c.service_id, c.monat, c.art, sa.func.count())
        .where(c.service_id.is_not(None), c.monat.is_not(None), c.kanal.is_not(None))
        .group_by(c.service_id, c.monat, c.art)
    )
    out: dict[str, Grid] = {key: {} for key in BG_TABLES}
    for service_id, monat, art, n in result.all():
        out[art or AUSSTEHEND][(service_id, monat)] = int(n)
    return {key: grid for key, grid in out.items() if grid}
