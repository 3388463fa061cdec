"""The citizen's case page with its Bescheid and day of notice in real Chromium: before the
first retrieval and after output determined the day from it, both pass axe-core (WCAG 2.1 AA)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from rathaus.contracts.output.v1 import BekanntgabeDetermined
from rathaus.platform.browser import Keyboard as BaseKeyboard
from rathaus.platform.browser import assert_accessible, chromium
from rathaus.platform.kernel import Kernel, ModuleApp
from rathaus.platform.kernel.calendar import munich_day
from rathaus.platform.testing import eventually
from rathaus.portal import PREFIX
from rathaus.portal.store import applications, postkorb
from rathaus.portal.store_abrufe import abrufe

pytestmark = pytest.mark.browser
PASSWORD = "Ein-gutes-Passwort-2026"


class Keyboard(BaseKeyboard):
    async def log_in(self, email: str) -> None:
        await self.type_into("E-Mail", email)
        await self.type_into("Passwort", PASSWORD)
        await self.submit_field()


async def test_the_case_page_shows_the_day_of_notice_accessibly(world_without_broker: Any) -> None:
    world = world_without_broker
    erika = await world.citizen()
    assert (await erika.register()).status_code == 303
    case_id, entry_id = str(uuid.uuid4()), str(uuid.uuid4())
    ref = await world.portal.blobs.put("output", b"%PDF-1.7 Bescheid", media_type="application/pdf")
    async with world.portal.db.session() as s:
        erika_id = (
            await s.execute(sa.text("SELECT account_id FROM accounts WHERE email = :e"), {"e": erika.email})
        ).scalar_one()
        await s.execute(
            applications.insert().values(
                case_id=case_id,
                account_id=erika_id,
                service_id="bewohnerparkausweis",
                status="zugestellt",
                aktenzeichen="523.11-2026-000042",
                submitted_at=datetime.now(UTC).isoformat(),
            )
        )
        await s.execute(
            postkorb.insert().values(
                entry_id=entry_id,
                account_id=erika_id,
                case_id=case_id,
                title="Bescheid zu Ihrem Antrag",
                aktenzeichen="523.11-2026-000042",
                bekanntgabe="2026-12-03",
                document=msgspec.to_builtins(ref),
                sha256=ref.sha256,
                read=False,
                created_at=datetime.now(UTC).isoformat(),
            )
        )
    output = Kernel("output", world.settings)
    await output.start(ModuleApp())
    try:
        async with chromium() as browser:
            context = await browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
            page = await context.new_page()
            await page.goto(world.base_url + f"{PREFIX}/konto/anmelden")
            await Keyboard(page).log_in(erika.email)
            await page.goto(world.base_url + f"{PREFIX}/antraege/{case_id}")
            main = await page.inner_text("main")
            assert "03.12.2026, wenn Sie den Bescheid nicht vorher abrufen" in main
            await assert_accessible(page)

            # she retrieves it (another session of hers); output determines the day from it
            r = await erika.http.get(f"{PREFIX}/postkorb/{entry_id}/herunterladen")
            assert r.status_code == 200
            async with world.portal.db.read() as s:
                retrieved_at = (await s.execute(sa.select(abrufe.c.retrieved_at))).scalar_one()
            day = munich_day(retrieved_at)
            async with output.transaction() as uow:
                await uow.emit(
                    BekanntgabeDetermined(
                        case_id=case_id,
                        aktenzeichen="523.11-2026-000042",
                        sha256=ref.sha256,
                        channel="postkorb",
                        provided_at=retrieved_at,
                        retrieved_at=retrieved_at,
                        presumed="2026-12-03",
                        bekanntgabe=day.isoformat(),
                        by_retrieval=True,
                        legal_basis="§ 9 Abs. 1 Satz 4 OZG",
                    ),
                    subject=case_id,
                )

            async def determined() -> bool:
                async with world.portal.db.read() as s:
                    return (await s.execute(sa.select(abrufe.c.bekanntgabe))).scalar_one() is not None

            await eventually(determined)
            await page.reload()
            main = await page.inner_text("main")
            assert f"{day.strftime('%d.%m.%Y')} – der Tag Ihres ersten Abrufs" in main
            assert "(von Ihnen)" in main
            await assert_accessible(page)
    finally:
        await output.stop(ModuleApp())
