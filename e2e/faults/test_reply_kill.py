"""Nothing lost in the two-way Postkorb: citizens' replies to a Nachforderung are on their way
when ``rathaus up`` is SIGKILLed. Each reply is either stored (the portal answered 303) and
then filed in the E-Akte exactly once, or refused visibly (no answer, or an error page) — and
the citizen's second try of the same form (the same reply id) files it once, never twice."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from e2e.city import SCAN, TOKEN, demo_citizen, example, form_post, staff
from e2e.faults.checks import ModuleDatabases
from rathaus.platform.bench.cases import citizen_session
from rathaus.platform.kernel.procedures import Procedures
from rathaus.platform.testing import EmbeddedPlatform, eventually, report

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(600)]
UNIT = "SKA-2/21"  # Hundesteuer: decided by a clerk, no fee
REPLIES = 8
FIELD = re.compile(r'name="(reply_id|in_reply_to)" value="([^"]+)"')


@dataclass
class Reply:
    """One reply form as the citizen's browser holds it: sent again as it is after a failure."""

    number: int
    fields: dict[str, str]
    answered: int | None = None  # the HTTP status of the last try; None: no answer
    tries: int = 0

    @property
    def reply_id(self) -> str:
        return self.fields["reply_id"]


async def reply_form(http: httpx.AsyncClient, case_id: str, number: int) -> Reply:
    page = (await http.get(f"/postkorb/vorgang/{case_id}")).text
    token = TOKEN.search(page)
    assert token, page[:500]
    fields = dict(FIELD.findall(page))
    assert set(fields) == {"reply_id", "in_reply_to"}, fields
    return Reply(
        number,
        {**fields, "_csrf_token": token.group(1), "text": f"Antwort Nummer {number} mit dem Nachweis."},
    )


async def send(http: httpx.AsyncClient, case_id: str, reply: Reply) -> None:
    reply.tries += 1
    try:
        r = await http.post(
            f"/postkorb/vorgang/{case_id}/antwort",
            data=reply.fields,
            files={"datei-0": (f"nachweis-{reply.number}.pdf", SCAN.read_bytes(), "application/pdf")},
        )
    except httpx.TransportError:
        reply.answered = None  # the browser shows that the page could not be loaded
        return
    reply.answered = r.status_code


async def filed(dbs: ModuleDatabases, case_id: str) -> tuple[Counter[str], Counter[str]]:
    """The replies the E-Akte filed for the case (by id), and the documents filed from the
    Postkorb by kind: each reply's text ("nachricht") and its file, each once (by id)."""
    rows = await dbs.rows(
        "eakte",
        "SELECT message_id FROM nachrichten WHERE case_id = ? AND direction = 'von_antragsteller'",
        (case_id,),
    )
    documents = await dbs.rows(
        "eakte",
        "SELECT document_type, document_id FROM documents WHERE case_id = ? AND source = 'postkorb'",
        (case_id,),
    )
    kinds = Counter("text" if kind == "nachricht" else "datei" for kind, _ in documents)
    assert len({d for _, d in documents}) == len(documents), documents  # no document twice
    return Counter(row[0] for row in rows), kinds


async def test_replies_while_the_platform_is_killed_are_filed_once_or_refused_visibly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    began = time.monotonic()
    platform = EmbeddedPlatform(tmp_path / "rathaus")
    platform.start()
    base = platform.base_url
    definition = Procedures.load().current("hundesteuer")
    assert definition is not None
    citizen = await citizen_session(base, *demo_citizen(platform))
    clerk = httpx.AsyncClient(base_url=base, timeout=60)
    try:
        case_id = str(uuid.uuid4())
        r = await citizen.post("/api/antraege", json={**example(definition), "vorgangsnummer": case_id})
        assert r.status_code == 201, r.text
        # the clerk asks for a document, through the case page's form as a browser sends it
        login, password = staff(platform, UNIT)
        r = await form_post(clerk, "/arbeitsplatz/anmelden", {"username": login, "password": password})
        assert r.status_code in (302, 303), r.text[:300]

        async def opened() -> bool:
            return (await clerk.get(f"/arbeitsplatz/vorgaenge/{case_id}")).status_code == 200

        await eventually(opened, timeout=120, interval=0.5)
        r = await form_post(
            clerk,
            f"/arbeitsplatz/vorgaenge/{case_id}",
            {
                "action": "senden",
                "subject": "Bitte reichen Sie Unterlagen nach",
                "text": "Uns fehlt der Nachweis der Haftpflichtversicherung.",
                "others": "Nachweis der Haftpflichtversicherung",
                "deadline": (date.today() + timedelta(days=14)).isoformat(),
            },
            target=f"/arbeitsplatz/vorgaenge/{case_id}/nachricht",
        )
        assert r.status_code in (302, 303), r.text[:500]

        async def asked() -> bool:
            return (
                "Nachweis der Haftpflichtversicherung"
                in (await citizen.get(f"/postkorb/vorgang/{case_id}")).text
            )

        await eventually(asked, timeout=60, interval=0.5)
        replies = [await reply_form(citizen, case_id, n) for n in range(REPLIES)]

        # two replies before the fault, then the rest at once; the kill when the first of
        # those is answered, so that the others are on their way
        for reply in replies[:2]:
            await send(citizen, case_id, reply)
            assert reply.answered == 303
        rush = [asyncio.create_task(send(citizen, case_id, reply)) for reply in replies[2:]]
        await asyncio.wait(rush, return_when=asyncio.FIRST_COMPLETED)
        platform.kill()
        await asyncio.gather(*rush)
        stored_before = [r.number for r in replies if r.answered == 303]
        refused = [r.number for r in replies if r.answered != 303]
        platform.start()

        # whatever was answered 303 is filed without the citizen doing anything
        accepted = {r.reply_id for r in replies if r.answered == 303}

        async def accepted_filed() -> bool:
            ids, _ = await filed(ModuleDatabases(platform.data_dir, platform.postgres), case_id)
            return accepted <= set(ids)

        await eventually(accepted_filed, timeout=180, interval=0.5)
        # the citizen sends the refused ones again — and one that went through, twice
        for reply in [*[r for r in replies if r.answered != 303], replies[0]]:
            await send(citizen, case_id, reply)
            assert reply.answered == 303, (reply.number, reply.answered)

        async def all_filed() -> bool:
            ids, _ = await filed(ModuleDatabases(platform.data_dir, platform.postgres), case_id)
            return set(ids) == {r.reply_id for r in replies}

        await eventually(all_filed, timeout=180, interval=0.5)
        ids, documents = await filed(ModuleDatabases(platform.data_dir, platform.postgres), case_id)
        assert all(n == 1 for n in ids.values()), ids  # each reply once
        assert documents == {"text": REPLIES, "datei": REPLIES}  # each reply's text and file once
        kept = await ModuleDatabases(platform.data_dir, platform.postgres).one(
            "portal",
            "SELECT count(*), count(DISTINCT message_id) FROM nachrichten "
            "WHERE case_id = ? AND direction = 'buerger'",
            (case_id,),
        )
        assert tuple(kept) == (REPLIES, REPLIES)
        report(
            capsys,
            f"== fault suite, Postkorb replies ({time.monotonic() - began:.0f}s) ==\n"
            f"SIGKILL rathaus up with {REPLIES - 2} replies in flight: stored before the kill "
            f"{len(stored_before)} ({stored_before}), refused visibly {len(refused)} ({refused}); "
            f"after the restart every reply filed once ({REPLIES} replies, documents {dict(documents)}), "
            "a reply sent twice filed once",
        )
    except BaseException:
        print("\n" + "".join(platform.output[-40:]))  # shown with the failure
        raise
    finally:
        await clerk.aclose()
        await citizen.aclose()
        platform.stop()
