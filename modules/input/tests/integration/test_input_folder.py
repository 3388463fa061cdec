"""The intake folder: files lying there before the start are taken, bad files are refused
with a German reason, incomplete files are left alone until they are complete."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from rathaus.input.bootstrap import bootstrap
from rathaus.input.domain import MAX_BYTES
from rathaus.input.store import documents
from rathaus.platform.kernel import Kernel, Settings
from rathaus.platform.testing import eventually


async def test_files_dropped_while_down_are_taken_and_bad_ones_refused(
    settings: Settings, make_letter: Callable[..., bytes]
) -> None:
    inbox = settings.data_dir / "input" / "eingangsordner"
    inbox.mkdir(parents=True)
    (inbox / "brief.pdf").write_bytes(make_letter(["Sehr geehrte Damen und Herren,", "bitte um Rueckruf."]))
    (inbox / "notiz.pdf").write_text("Das ist eine Textdatei, nur umbenannt.", encoding="utf-8")
    (inbox / "abgeschnitten.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog")
    (inbox / "riesig.tif").write_bytes(b"II*\x00" + b"\x00" * (MAX_BYTES + 1))
    (inbox / "noch-im-schreiben.pdf.part").write_bytes(b"%PDF-1.7")

    kernel = Kernel("input", settings)
    app = bootstrap(kernel)
    await kernel.start(app)
    try:
        failed, done = inbox / "fehler", inbox / "verarbeitet"

        async def all_handled() -> bool:
            return (done / "brief.pdf").exists() and len(list(failed.glob("*.fehler.txt"))) == 3

        await eventually(all_handled, timeout=60)
        reasons = {p.name: p.read_text(encoding="utf-8") for p in failed.glob("*.fehler.txt")}
        assert "kein PDF und kein Bild" in reasons["notiz.pdf.fehler.txt"]
        assert "lässt sich nicht öffnen" in reasons["abgeschnitten.pdf.fehler.txt"]
        assert "zu groß" in reasons["riesig.tif.fehler.txt"]
        assert {p.name for p in failed.iterdir()} >= {"notiz.pdf", "abgeschnitten.pdf", "riesig.tif"}
        # a file still being written is never taken; once renamed into place it is
        assert [p.name for p in inbox.iterdir() if p.is_file()] == ["noch-im-schreiben.pdf.part"]
        (inbox / "noch-im-schreiben.pdf.part").rename(inbox / "noch-im-schreiben.pdf")

        async def refused_too() -> bool:
            return (failed / "noch-im-schreiben.pdf.fehler.txt").exists()

        await eventually(refused_too, timeout=30)

        async def in_triage() -> bool:
            async with kernel.db.session() as s:
                statuses = (await s.execute(sa.select(documents.c.status))).scalars().all()
            return list(statuses) == ["triage"]

        await eventually(in_triage, timeout=60)
        # the same name again with other bytes: a second letter, kept under a new name
        (inbox / "brief.pdf").write_bytes(make_letter(["Ein anderer Brief"]))

        async def second() -> bool:
            return (done / "brief-2.pdf").exists()

        await eventually(second, timeout=30)
    finally:
        await kernel.stop(app)
    assert not await app.health["eingangsordner"]()


async def test_a_file_another_replica_holds_is_passed_over(
    settings: Settings, make_letter: Callable[..., bytes], caplog: pytest.LogCaptureFixture
) -> None:
    """Two replicas watch one folder: a file under another replica's lock is left to it
    (not read, not taken twice, no warning), and taken once the lock is gone while the
    file is still there."""
    inbox = settings.data_dir / "input" / "eingangsordner"
    inbox.mkdir(parents=True)
    held, free = inbox / "a-gehalten.pdf", inbox / "b-frei.pdf"
    held.write_bytes(make_letter(["Brief A"]))
    free.write_bytes(make_letter(["Brief B"]))
    other_replica = os.open(held, os.O_RDONLY)
    fcntl.flock(other_replica, fcntl.LOCK_EX | fcntl.LOCK_NB)
    kernel = Kernel("input", settings)
    app = bootstrap(kernel)
    await kernel.start(app)
    try:
        done = inbox / "verarbeitet"

        def taken(path: Path) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                return (done / path.name).exists()

            return check

        # the sweep that takes b (after a, in name order) has passed a over
        await eventually(taken(free), timeout=60)
        assert held.exists() and not (done / held.name).exists()
        assert "could not be taken" not in caplog.text
        os.close(other_replica)  # that replica gave up without taking it
        await eventually(taken(held), timeout=60)
        async with kernel.db.session() as s:
            letters = (await s.execute(sa.select(documents.c.sha256))).scalars().all()
        assert len(letters) == len(set(letters)) == 2  # each file once
    finally:
        await kernel.stop(app)
