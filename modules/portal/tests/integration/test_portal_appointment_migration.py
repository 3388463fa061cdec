"""portal_0004 (appointments) up and down on SQLite and PostgreSQL, matching store_appointments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from rathaus.platform.kernel.db import Database, alembic_config
from rathaus.portal.bootstrap import HERE
from rathaus.portal.store import metadata
from rathaus.portal.store_appointments import appointment_seats, appointments, rate_hits, used_challenges

OURS = {t.name for t in (appointments, appointment_seats, rate_hits, used_challenges)}


def differences(connection: Any) -> list[Any]:
    found = compare_metadata(MigrationContext.configure(connection), metadata)
    return [d for d in found if OURS & set(str(d).replace("'", " ").replace(",", " ").split())]


def downgrade(connection: Any) -> None:
    config = alembic_config(HERE / "migrations", "alembic_version", metadata)
    config.attributes["connection"] = connection
    command.downgrade(config, "portal_0003")


async def round_trip(db: Database) -> None:
    await db.migrate(HERE / "migrations", metadata)
    async with db.engine.begin() as conn:
        assert await conn.run_sync(differences) == []
        tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        assert tables >= OURS
    async with db.engine.begin() as conn:
        await conn.run_sync(downgrade)
        tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        assert not OURS & tables and "applications" in tables
    await db.migrate(HERE / "migrations", metadata)
    async with db.engine.begin() as conn:
        assert await conn.run_sync(differences) == []


async def test_appointment_migration_on_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'portal.sqlite'}", module="portal")
    try:
        await round_trip(db)
    finally:
        await db.dispose()


async def test_appointment_migration_on_postgresql(postgres_url: str) -> None:
    db = Database(postgres_url, module="portal")
    try:
        await round_trip(db)
    finally:
        await db.dispose()
