"""The broker's database: the residents' and vehicle registers, and the transparency log."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

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
    sa.Column("released", sa.Boolean, nullable=False),
    sa.Column("evidence_id", sa.String(64), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    body = json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


async def append_log(session: AsyncSession, entry: dict[str, Any]) -> None:
    """Append to the hash-chained log (the table refuses updates and deletes)."""
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
