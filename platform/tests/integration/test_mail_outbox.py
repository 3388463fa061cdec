"""The kernel's mail outbox against a real SMTP server (aiosmtpd): a mail queued in a
transaction goes out once after the commit and never after a rollback; while the server
is away it waits and is retried; a recipient the server refuses for good is marked
failed; the message (it may carry a personal link) is dropped once settled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.header import decode_header, make_header
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from rathaus.platform.kernel import mail_outbox as outbox_module
from rathaus.platform.kernel.db import Database
from rathaus.platform.kernel.mail import message
from rathaus.platform.kernel.mail_outbox import MailOutbox, mail_outbox
from rathaus.platform.kernel.settings import Settings, SmtpSettings
from rathaus.platform.runtime.processes import free_port
from rathaus.platform.testing import SmtpCollector, eventually


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[MailOutbox, Database, SmtpCollector, Controller]]:
    port = free_port()
    settings = Settings(data_dir=tmp_path, smtp=SmtpSettings(host="127.0.0.1", port=port))
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite'}", module="m")
    await db.migrate(None)
    collector = SmtpCollector()
    server = Controller(collector, hostname="127.0.0.1", port=port)
    outbox = MailOutbox(db, settings)
    task = asyncio.create_task(outbox.run())
    try:
        yield outbox, db, collector, server
    finally:
        outbox.stop()
        await task
        if getattr(server, "_thread", None) is not None:
            server.stop()
        await db.dispose()


async def rows(db: Database) -> list[dict]:
    async with db.read() as s:
        return [dict(r) for r in (await s.execute(sa.select(mail_outbox))).mappings()]


async def test_sent_once_after_commit_nothing_after_rollback_and_the_message_dropped(world) -> None:
    outbox, db, collector, server = world
    server.start()
    settings = outbox.settings
    with pytest.raises(RuntimeError):
        async with db.session() as s:
            await outbox.queue(s, message(settings, "a@example.org", "verworfen", "x"), purpose="p", ref="r0")
            raise RuntimeError("the change failed: its mail must not go out")
    async with db.session() as s:
        await outbox.queue(
            s,
            message(settings, "a@example.org", "Ihr Termin", "Link: https://x/t/geheim"),
            purpose="p",
            ref="r1",
        )
    await eventually(lambda: outbox.sent("r1", "p"))  # woken by the commit, not by a poll
    assert [m["Subject"] for m in collector.messages] == ["Ihr Termin"]
    assert "geheim" in collector.messages[0].get_payload()
    (row,) = await rows(db)
    assert row["status"] == "sent" and row["message"] is None and row["attempts"] == 1
    assert await outbox.backlog() == {"waiting": 0, "failed": 0}


async def test_waits_while_the_server_is_away_then_goes_out_and_refusals_fail_for_good(
    world, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox, db, collector, server = world
    monkeypatch.setattr(outbox_module, "RETRY_BASE", 0.2)
    settings = outbox.settings
    async with db.session() as s:  # nobody listens on the port yet
        await outbox.queue(s, message(settings, "b@example.org", "später", "x"), purpose="p", ref="r2")

    async def tried() -> bool:
        (row,) = await rows(db)
        return row["attempts"] >= 1 and row["status"] == "pending"

    await eventually(tried)
    (row,) = await rows(db)
    assert row["message"] is not None and row["error"]  # kept for the next attempt; the error's type only
    assert (await outbox.backlog())["waiting"] == 1
    server.start()
    await eventually(lambda: outbox.sent("r2"), timeout=20)
    assert [str(make_header(decode_header(m["Subject"]))) for m in collector.messages] == ["später"]

    async with db.session() as s:
        await outbox.queue(s, message(settings, SmtpCollector.REFUSED, "nie", "x"), purpose="p", ref="r3")

    async def refused() -> bool:
        return (await outbox.backlog())["failed"] == 1

    await eventually(refused)
    failed = [r for r in await rows(db) if r["ref"] == "r3"]
    assert failed[0]["status"] == "failed" and failed[0]["message"] is None and failed[0]["attempts"] == 1
