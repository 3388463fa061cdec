"""`rathaus serve <module>` seeds its part of the demo city only into a new database."""

from __future__ import annotations

from pathlib import Path

from rathaus.platform.kernel.settings import Settings
from rathaus.platform.runtime.serve import fresh_database, seeds_demo


def test_only_a_new_sqlite_database_is_fresh(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="test-secret-key-test-secret-key-0000")
    assert fresh_database(settings, "broker")
    db = tmp_path / "db" / "broker.sqlite"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"")
    assert not fresh_database(settings, "broker")
    assert fresh_database(settings, "eakte")  # each module owns its database
    settings.databases = {"eakte": "postgresql+asyncpg://rathaus@db/eakte"}
    assert not seeds_demo(settings, ("eakte",))  # production databases are never seeded unasked


def test_serve_seeds_postgresql_only_when_asked(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="test-secret-key-test-secret-key-0000")
    settings.databases = {m: f"postgresql+asyncpg://rathaus@db/{m}" for m in ("portal", "eakte")}
    assert not seeds_demo(settings, ("portal", "eakte"))
    assert seeds_demo(settings, ("portal", "eakte"), forced=True)  # rathaus serve --seed-demo
    assert seeds_demo(settings, ("broker",))  # a new SQLite database, as before
    settings.seed_demo = False
    assert not seeds_demo(settings, ("broker",))
