"""Triage over the web with the real E-Akte answering staff logins: a poststelle member
uploads a letter without Aktenzeichen, finds it in the triage list and assigns it to a
running case; the E-Akte files it. Other staff see 403."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import nats
import pytest

from rathaus.contracts.common import Address, Person
from rathaus.contracts.portal.v1 import Applicant, ApplicationSubmitted
from rathaus.eakte.bootstrap import bootstrap as eakte_bootstrap
from rathaus.input import PREFIX, TITLE
from rathaus.input.bootstrap import bootstrap
from rathaus.platform.browser import serve_asgi
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.web import create_module_app
from rathaus.platform.testing import eventually


@dataclass
class Office:
    settings: Settings
    input: Kernel
    app: ModuleApp
    portal: Kernel
    events: list[dict[str, Any]] = field(default_factory=list)

    def of(self, subject: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == f"de.{subject}"]

    def login_of(self, role: str) -> tuple[str, str]:
        for line in (self.settings.data_dir / "demo-zugaenge.txt").read_text().splitlines():
            r, user, password, _unit = line.split("\t")
            if r == role:
                return user, password
        raise AssertionError(role)

    async def open_case(self) -> tuple[str, str]:
        """A real case: the portal's application, opened by the real E-Akte; its Aktenzeichen."""
        case_id = str(uuid.uuid4())
        async with self.portal.transaction() as uow:
            await uow.emit(
                ApplicationSubmitted(
                    case_id=case_id,
                    service_id="bewohnerparkausweis",
                    account_id="acc-1",
                    applicant=Applicant(
                        person=Person(given_name="Erika", family_name="Mustermann", birth_date="1964-08-12"),
                        address=Address(street="Zenettistraße", house_number="12", postal_code="80337"),
                        email="erika@example.org",
                    ),
                    form={"kennzeichen": "M-EM 1964"},
                    submitted_at="2026-11-23T10:15:00+00:00",
                ),
                subject=case_id,
            )

        async def opened_and_known() -> bool:
            return any(e["subject"] == case_id for e in self.of("rathaus.eakte.case.opened.v1")) and (
                self.input.consumer.handled >= 2
            )

        await eventually(opened_and_known, timeout=30)
        opened = next(e for e in self.of("rathaus.eakte.case.opened.v1") if e["subject"] == case_id)
        return case_id, opened["data"]["aktenzeichen"]


@pytest.fixture
async def office(settings: Settings) -> AsyncIterator[Office]:
    eakte = Kernel("eakte", settings)
    eakte_app = eakte_bootstrap(eakte)
    await eakte.start(eakte_app, seed=True)
    kernel = Kernel("input", settings)
    app = bootstrap(kernel)
    await kernel.start(app)
    portal = Kernel("portal", settings)
    await portal.start(ModuleApp())
    nc = await nats.connect(settings.nats.url)
    o = Office(settings, kernel, app, portal)

    async def collect(msg: Any) -> None:
        o.events.append(msgspec.json.decode(msg.data))

    await nc.subscribe("rathaus.>", cb=collect)
    yield o
    await nc.close()
    await portal.stop(ModuleApp())
    await kernel.stop(app)
    await eakte.stop(eakte_app)


async def token(client: httpx.AsyncClient, path: str) -> str:
    page = (await client.get(path)).text
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


async def login(client: httpx.AsyncClient, user: str, password: str) -> httpx.Response:
    csrf = await token(client, f"{PREFIX}/anmelden")
    return await client.post(
        f"{PREFIX}/anmelden", data={"username": user, "password": password, "_csrf_token": csrf}
    )


async def test_triage_upload_and_assignment_by_a_poststelle_member(
    office: Office, make_letter: Callable[..., bytes]
) -> None:
    case_id, az = await office.open_case()
    web = create_module_app(
        office.input, prefix=PREFIX, title=TITLE, routes=office.app.routes, templates=office.app.templates
    )
    async with serve_asgi(web) as base:
        async with httpx.AsyncClient(base_url=base, follow_redirects=True) as anonymous:
            assert str((await anonymous.get(f"{PREFIX}/")).url).endswith("/anmelden")

        async with httpx.AsyncClient(base_url=base, follow_redirects=True) as clerk:
            assert (await login(clerk, *office.login_of("sachbearbeitung"))).status_code == 200
            assert str((await clerk.get(f"{PREFIX}/")).url).endswith("/journal")
            assert (await clerk.get(f"{PREFIX}/verteilen")).status_code == 403
            assert (await clerk.get(f"{PREFIX}/hochladen")).status_code == 403
            csrf = await token(clerk, f"{PREFIX}/journal")
            refused = await clerk.post(
                f"{PREFIX}/hochladen",
                data={"_csrf_token": csrf},
                files={"datei": ("b.pdf", make_letter(["x"]), "application/pdf")},
            )
            assert refused.status_code == 403 and "keine Berechtigung" in refused.text

        async with httpx.AsyncClient(base_url=base, follow_redirects=True) as post:
            page = await login(post, *office.login_of("poststelle"))
            assert "Zu verteilende Briefe" in page.text
            csrf = await token(post, f"{PREFIX}/hochladen")
            # a text file named .pdf: refused by content, with a German message, nothing kept
            bad = await post.post(
                f"{PREFIX}/hochladen",
                data={"_csrf_token": csrf},
                files={"datei": ("brief.pdf", b"Nur Text, kein PDF.", "application/pdf")},
            )
            assert bad.status_code == 400 and "kein PDF und kein Bild" in bad.text
            assert 'aria-describedby="datei-hinweis datei-fehler"' in bad.text
            letter = make_letter(
                ["Sehr geehrte Damen und Herren,", "mein Bewohnerparkausweis", "ist verloren."]
            )
            uploaded = await post.post(
                f"{PREFIX}/hochladen",
                data={"_csrf_token": csrf},
                files={"datei": ("scan 0001.pdf", letter, "application/octet-stream")},
            )
            assert uploaded.status_code == 200 and "/briefe/" in str(uploaded.url)
            letter_url = str(uploaded.url).removeprefix(base)

            async def in_triage() -> bool:
                page = (await post.get(f"{PREFIX}/")).text
                return "zuzuordnen" in page and "Bewohnerparkausweis beantragen (KVR-III/12)" in page

            await eventually(in_triage, timeout=60)
            again = await post.post(
                f"{PREFIX}/hochladen",
                data={"_csrf_token": csrf},
                files={"datei": ("noch einmal.pdf", letter, "application/pdf")},
            )
            assert (
                str(again.url).removeprefix(base).startswith(letter_url)
                and "bereits eingegangen" in again.text
            )

            page = (await post.get(letter_url)).text
            assert "Bewohnerparkausweis" in page and "Im Brief wurde kein Aktenzeichen erkannt" in page
            assert f'<option value="{az}">' in page  # running cases of the suggested service
            original = await post.get(f"{letter_url}/original")
            assert original.content == letter and original.headers["content-type"] == "application/pdf"
            assert original.headers["x-content-type-options"] == "nosniff"
            preview = await post.get(f"{letter_url}/seiten/1")
            assert preview.headers["content-type"] == "image/png" and preview.content.startswith(b"\x89PNG")

            csrf = await token(post, letter_url)
            form = {"_csrf_token": csrf, "document_type": "schreiben", "title": "Verlust des Parkausweises"}
            unknown = await post.post(
                f"{letter_url}/zuordnen", data={**form, "aktenzeichen": "523.11-2026-999999"}
            )
            assert unknown.status_code == 400
            assert "Zum Aktenzeichen 523.11-2026-999999 ist kein laufender Vorgang bekannt" in unknown.text
            assert 'href="#aktenzeichen"' in unknown.text and 'aria-invalid="true"' in unknown.text
            malformed = await post.post(f"{letter_url}/zuordnen", data={**form, "aktenzeichen": "12345"})
            assert malformed.status_code == 400 and "erwartete Format" in malformed.text
            assert office.of("rathaus.input.document.routed.v1") == []

            done = await post.post(f"{letter_url}/zuordnen", data={**form, "aktenzeichen": az})
            assert done.status_code == 200 and f"Vorgang {az}" in done.text and "von Hand" in done.text
            twice = await post.post(f"{letter_url}/zuordnen", data={**form, "aktenzeichen": az})
            assert twice.status_code == 400 and "bereits dem Vorgang" in twice.text

            async def filed() -> bool:
                return any(e["subject"] == case_id for e in office.of("rathaus.eakte.document.filed.v1"))

            await eventually(filed, timeout=30)
            routed = office.of("rathaus.input.document.routed.v1")
            assert len(routed) == 1
            data = routed[0]["data"]
            assert (data["case_id"], data["unit"], data["medium"], data["source"]) == (
                case_id,
                "KVR-III/12",
                "papier",
                "scan",
            )
            assert data["title"] == "Verlust des Parkausweises" and "Bewohnerparkausweis" in data["text"]

            journal = (await post.get(f"{PREFIX}/journal")).text
            assert az in journal and "von Hand" in journal and "verloren" not in journal
            assert "Zu verteilen" in (await post.get(f"{PREFIX}/")).text
            assert "Es sind keine Briefe zu verteilen." in (await post.get(f"{PREFIX}/")).text
