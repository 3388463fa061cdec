"""The broker's database: the residents' and vehicle registers, and the transparency log."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.platform.kernel.db import one_appender

metadata = sa.MetaData()

residents = sa.Table(
    "residents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("given_name", sa.String(100), nullable=False),
    sa.Column("family_name", sa.String(100), nullable=False),
    sa.Column("given_key", sa.String(100), nullable=False, index=True),
    sa.Column("family_key", sa.String(100), nullable=False, index=True),
    sa.Column("birth_date", sa.String(10), nullable=False),
    sa.Column("street", sa.String(120), nullable=False),
    sa.Column("house_number", sa.String(10), nullable=False),
    sa.Column("postal_code", sa.String(5), nullable=False),
    sa.Column("city", sa.String(60), nullable=False),
    sa.Column("stadtbezirk", sa.String(80), nullable=False),
    sa.Column("parkzone", sa.String(80), nullable=False),
    sa.Column("main_residence", sa.Boolean, nullable=False),
    sa.Column("moved_in", sa.String(10), nullable=False, server_default=""),  # Einzugsdatum, ISO
)

vehicles = sa.Table(
    "vehicles",
    metadata,
    sa.Column("kennzeichen", sa.String(16), primary_key=True),
    sa.Column("holder_id", sa.Integer, sa.ForeignKey("residents.id"), nullable=False, index=True),
    sa.Column("make", sa.String(60), nullable=False),
    sa.Column("model", sa.String(60), nullable=False),
    sa.Column("holder_since", sa.String(10), nullable=False),
)

# public data: which Stadtbezirk and residents' parking zone an address lies in
strassen = sa.Table(
    "strassen",
    metadata,
    sa.Column("street_key", sa.String(120), primary_key=True),
    sa.Column("house_number", sa.String(10), primary_key=True),
    sa.Column("postal_code", sa.String(5), primary_key=True),
    sa.Column("street", sa.String(120), nullable=False),
    sa.Column("stadtbezirk", sa.String(80), nullable=False),
    sa.Column("parkzone", sa.String(80), nullable=False),
)

# the editions of the street directory published as events (broker_0005)
directory_editions = sa.Table(
    "directory_editions",
    metadata,
    sa.Column("edition", sa.String(64), primary_key=True),  # digest of its entries
    sa.Column("entries", sa.Integer, nullable=False),
    sa.Column("parts", sa.Integer, nullable=False),
    sa.Column("published_at", sa.Float, nullable=False),
)

transparency_log = sa.Table(
    "transparency_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("requester", sa.String(40), nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("legal_basis", sa.Text, nullable=False),
    sa.Column("case_id", sa.String(64), nullable=False),
    sa.Column("service_id", sa.String(64), nullable=False),
    sa.Column("account_id", sa.String(64), nullable=False, index=True),
    sa.Column("resident_id", sa.Integer, index=True),
    sa.Column("registers", sa.JSON, nullable=False),
    sa.Column("attributes", sa.JSON),  # asked for; NULL in entries from before broker_0003
    sa.Column("released", sa.Boolean, nullable=False),
    sa.Column("evidence_id", sa.String(64), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)


# where each attribute is kept: the resident's row, or one row per vehicle
RESIDENT_COLUMNS: dict[str, sa.Column[Any]] = {
    "melderegister.vorname": residents.c.given_name,
    "melderegister.familienname": residents.c.family_name,
    "melderegister.geburtsdatum": residents.c.birth_date,
    "melderegister.strasse": residents.c.street,
    "melderegister.hausnummer": residents.c.house_number,
    "melderegister.postleitzahl": residents.c.postal_code,
    "melderegister.ort": residents.c.city,
    "melderegister.stadtbezirk": residents.c.stadtbezirk,
    "melderegister.parkzone": residents.c.parkzone,
    "melderegister.einzugsdatum": residents.c.moved_in,
}
VEHICLE_COLUMNS: dict[str, sa.Column[Any]] = {
    "fahrzeugregister.kennzeichen": vehicles.c.kennzeichen,
    "fahrzeugregister.hersteller": vehicles.c.make,
    "fahrzeugregister.modell": vehicles.c.model,
    "fahrzeugregister.halter_seit": vehicles.c.holder_since,
}


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    if entry.get("attributes", ()) is None:
        # entries written before the column existed were hashed without it
        entry = {k: v for k, v in entry.items() if k != "attributes"}
    body = json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


async def append_log(session: AsyncSession, entry: dict[str, Any]) -> None:
    """Append to the hash-chained log (the table refuses updates and deletes)."""
    await one_appender(session, transparency_log.name)  # the chain's last entry must stay the last
    last = (
        await session.execute(
            sa.select(transparency_log.c.hash).order_by(transparency_log.c.seq.desc()).limit(1)
        )
    ).scalar()
    prev = last or "0" * 64
    await session.execute(
        transparency_log.insert().values(**entry, prev_hash=prev, hash=entry_hash(prev, entry))
    )


async def verify_log(session: AsyncSession) -> bool:
    prev = "0" * 64
    rows = (await session.execute(sa.select(transparency_log).order_by(transparency_log.c.seq))).mappings()
    for row in rows:
        entry = {k: v for k, v in row.items() if k not in ("seq", "prev_hash", "hash")}
        if row["prev_hash"] != prev or row["hash"] != entry_hash(prev, entry):
            return False
        prev = row["hash"]
    return True


async def register_values(
    session: AsyncSession, resident: dict[str, Any], attributes: list[str]
) -> dict[str, list[str]]:
    """The values of exactly these attributes for this resident, and nothing else.

    A resident's attribute has one value, or none when the register leaves it empty; a
    vehicle attribute has one value per vehicle, the vehicles in the order of their
    Kennzeichen, so that the n-th values of the vehicle attributes describe one vehicle.
    """
    values: dict[str, list[str]] = {}
    for attribute in attributes:
        if attribute in RESIDENT_COLUMNS:
            value = str(resident[RESIDENT_COLUMNS[attribute].name] or "")
            values[attribute] = [value] if value else []
    wanted = [a for a in attributes if a in VEHICLE_COLUMNS]
    if wanted:
        rows = (
            await session.execute(
                sa.select(*(VEHICLE_COLUMNS[a] for a in wanted))
                .where(vehicles.c.holder_id == resident["id"])
                .order_by(vehicles.c.kennzeichen)
            )
        ).all()
        for i, attribute in enumerate(wanted):
            values[attribute] = [str(row[i]) for row in rows]
    return values


async def log_summary(session: AsyncSession) -> list[tuple[str, bool, list[str], list[str] | None, int]]:
    """Exchanges counted by purpose, outcome, registers and attributes asked for."""
    # JSON columns compared as text: PostgreSQL has no equality on json
    registers = sa.cast(transparency_log.c.registers, sa.Text)
    attributes = sa.cast(transparency_log.c.attributes, sa.Text)
    rows = (
        await session.execute(
            sa.select(
                transparency_log.c.purpose,
                transparency_log.c.released,
                registers,
                attributes,
                sa.func.count(),
            ).group_by(transparency_log.c.purpose, transparency_log.c.released, registers, attributes)
        )
    ).all()
    return [
        (purpose, released, json.loads(regs), None if attrs is None else json.loads(attrs), count)
        for purpose, released, regs, attrs, count in rows
    ]
