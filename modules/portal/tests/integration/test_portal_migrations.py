"""The portal's migrations on SQLite and PostgreSQL: up to head matches the tables of
store.py, down to portal_0001 and up again keeps the data (portal_0002: organisations)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from rathaus.platform.kernel.db import Database, alembic_config
from rathaus.portal.bootstrap import HERE
from rathaus.portal.store import metadata

MIGRATIONS = HERE / "migrations"


def differences(connection: Any) -> list[Any]:
    """What differs between the migrated database and store.py (the kernel's tables aside)."""
    ours = set(metadata.tables)
    found = compare_metadata(MigrationContext.configure(connection), metadata)

    def table_of(diff: Any) -> str:
        step = diff[0] if isinstance(diff, list) else diff
        for part in step[1:]:
            if isinstance(part, sa.Table):
                return str(part.name)
            if isinstance(part, sa.Index | sa.Column | sa.UniqueConstraint) and part.table is not None:
                return str(part.table.name)
            if isinstance(part, str) and part in ours:
                return part
        return ""

    return [d for d in found if table_of(d) in ours]


def downgrade(connection: Any, revision: str) -> None:
    config = alembic_config(MIGRATIONS, "alembic_version", metadata)
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def round_trip(db: Database) -> None:
    await db.migrate(MIGRATIONS, metadata)
    async with db.engine.begin() as conn:
        assert await conn.run_sync(differences) == []
        await conn.execute(
            sa.text(
                "INSERT INTO applications (case_id, account_id, service_id, status, submitted_at, organisation_id) "
                "VALUES ('c1', 'a1', 'bewohnerparkausweis', 'eingegangen', '2026-01-01', 'o1')"
            )
        )
    async with db.engine.begin() as conn:
        await conn.run_sync(downgrade, "portal_0001")
    async with db.engine.begin() as conn:
        tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        columns = await conn.run_sync(
            lambda c: {col["name"] for col in sa.inspect(c).get_columns("applications")}
        )
        assert "organisations" not in tables and "invitations" not in tables
        assert "organisation_id" not in columns
        assert (await conn.execute(sa.text("SELECT case_id FROM applications"))).scalar() == "c1"
    await db.migrate(MIGRATIONS, metadata)
    async with db.engine.begin() as conn:
        assert await conn.run_sync(differences) == []
        row = (await conn.execute(sa.text("SELECT case_id, organisation_id FROM applications"))).one()
        assert tuple(row) == ("c1", None)


async def test_migrations_on_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'portal.sqlite'}", module="portal")
    try:
        await round_trip(db)
    finally:
        await db.dispose()


async def test_migrations_on_postgres(postgres_url: str) -> None:
    db = Database(postgres_url, module="portal")
    try:
        await round_trip(db)
    finally:
        await db.dispose()


MIGRATE = """
import asyncio, sys
from rathaus.platform.kernel.db import Database
from rathaus.portal.bootstrap import HERE
from rathaus.portal.store import metadata

async def main() -> None:
    db = Database(sys.argv[1], module="portal")
    try:
        await db.migrate(HERE / "migrations", metadata)
    finally:
        await db.dispose()

asyncio.run(main())
"""


async def replicas_migrate_at_once(url: str) -> None:
    """Two replicas (processes) starting together on a fresh database: one migrates, the
    other waits for it and finds the schema at head (neither fails on a table the other
    created, no migration runs twice)."""
    replicas = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            MIGRATE,
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    outputs = await asyncio.gather(*(r.communicate() for r in replicas))
    assert [r.returncode for r in replicas] == [0, 0], [out.decode()[-2000:] for out, _ in outputs]
    db = Database(url, module="portal")
    try:
        async with db.engine.begin() as conn:
            assert await conn.run_sync(differences) == []
            versions = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).all()
        assert len(versions) == 1, versions
    finally:
        await db.dispose()


async def test_two_replicas_migrate_at_once_on_sqlite(tmp_path: Path) -> None:
    await replicas_migrate_at_once(f"sqlite+aiosqlite:///{tmp_path / 'portal.sqlite'}")


async def test_two_replicas_migrate_at_once_on_postgres(postgres_url: str) -> None:
    await replicas_migrate_at_once(postgres_url)
