"""Which procedure versions a module's cases use, kept in the module's own database: a
version in use must never change, so every start compares the files with these pins."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.platform.kernel.db import dialect_insert
from rathaus.platform.kernel.procedures.definition import Definition
from rathaus.platform.kernel.procedures.registry import ProcedureChanged, Procedures

pins = sa.Table(
    "rathaus_procedure_pins",
    sa.MetaData(),
    sa.Column("service_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("first_case", sa.String(64), nullable=False),
    sa.Column("pinned_at", sa.String(40), nullable=False),
)


_pinned: set[tuple[str, str, int, str]] = set()  # (database, service, version, digest) known pinned


async def pin(session: AsyncSession, definition: Definition, case_id: str) -> None:
    """Record that a case uses this version (once per version); raises ``ProcedureChanged``
    when the version was pinned with another digest. A version this process saw pinned is
    not looked up again: a pin is never removed, and the digest is checked at every start."""
    known = (str(session.get_bind().engine.url), definition.id, definition.version, definition.digest)
    if known in _pinned:
        return
    found = (
        await session.execute(
            sa.select(pins.c.digest).where(
                pins.c.service_id == definition.id, pins.c.version == definition.version
            )
        )
    ).scalar()
    if found is None:
        # two first cases of a version at once: on PostgreSQL both may find no pin (SQLite
        # runs one writer at a time); the second insert yields, and the pin it met counts
        insert = dialect_insert(session)
        await session.execute(
            insert(pins)
            .values(
                service_id=definition.id,
                version=definition.version,
                digest=definition.digest,
                first_case=case_id,
                pinned_at=datetime.now(UTC).isoformat(),
            )
            .on_conflict_do_nothing()
        )
        found = (
            await session.execute(
                sa.select(pins.c.digest).where(
                    pins.c.service_id == definition.id, pins.c.version == definition.version
                )
            )
        ).scalar()
        if found != definition.digest:
            raise ProcedureChanged(
                f"Version {definition.version} des Verfahrens {definition.id} wurde geändert, nachdem "
                "Vorgänge sie verwendet haben."
            )
    elif found != definition.digest:
        raise ProcedureChanged(
            f"Version {definition.version} des Verfahrens {definition.id} wurde geändert, nachdem "
            "Vorgänge sie verwendet haben."
        )
    else:
        _pinned.add(known)  # found committed: from now on known (an insert may still roll back)


async def verify(session: AsyncSession, procedures: Procedures) -> list[str]:
    """German problems for every pinned version that is missing or changed."""
    problems = []
    for row in (await session.execute(sa.select(pins))).mappings():
        try:
            procedures.pinned(row["service_id"], row["version"], row["digest"])
        except ProcedureChanged as changed:
            problems.append(str(changed))
    return problems
