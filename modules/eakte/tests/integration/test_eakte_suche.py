"""Search over the E-Akte on a real nats-server: cases and documents arrive as events and
become findable, each unit finds only its own Akten (and those it is asked to co-sign),
statuses follow, bad input gets a German message, and the index catches up after a crash
and is rebuilt from the store with the same results."""

from __future__ import annotations

import base64
import shutil
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from rathaus.contracts.input.v1 import DocumentRouted
from rathaus.eakte import PREFIX
from rathaus.eakte.commands import reindex
from rathaus.eakte.domain import Staff
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.search.indexer import SearchIndexer, index_path
from rathaus.eakte.search.query import parse
from rathaus.platform.kernel import Settings
from rathaus.platform.testing import eventually

SONDERNUTZUNG = {
    "art": "geruest",
    "beginn": "2026-08-01",
    "ende": "2026-08-03",
    "strasse": "Tal",
    "flaechen": [{"bezeichnung": "Gerüst", "quadratmeter": 4}],
    "gebuehr": 30.0,
}
NOW = "2026-11-23T10:15:00+00:00"


async def file(office: Any, case_id: str, unit: str, title: str, text: str) -> str:
    blob = await office.input.blobs.put("input", text.encode(), media_type="text/plain", filename="brief.txt")
    document_id = f"doc-{uuid.uuid4().hex[:8]}"
    event = DocumentRouted(
        document_id=document_id,
        case_id=case_id,
        unit=unit,
        document_type="schreiben",
        title=title,
        medium="papier",
        source="scan",
        blob=blob,
        text=text,
        received_at=NOW,
    )
    await office.emit(office.input, event, case_id)
    return document_id


def api(office: Any, served: str, unit: str) -> httpx.AsyncClient:
    user, password = office.login_of(unit)
    basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return httpx.AsyncClient(base_url=served, headers={"Authorization": basic}, timeout=30)


async def found(client: httpx.AsyncClient, q: str, **filters: str) -> dict[str, Any]:
    r = await client.get(f"{PREFIX}/api/suche", params={"q": q, **filters})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_units_find_only_their_own_akten_and_statuses_follow(office: Any, served: str) -> None:
    bau = await office.submit("test-mitzeichnung", SONDERNUTZUNG)
    gewerbe = await office.submit("test-fiktion", {"taetigkeit": "Imbiss"}, office.business())
    az = (await office.wait_for("case.opened.v1", bau))["aktenzeichen"]
    await office.wait_for("case.opened.v1", gewerbe)
    await file(
        office, bau, "BAU-T/31", "Stellungnahme Anlieger", "Herr Müller hat keine Einwände gegen die Anträge."
    )
    await file(office, gewerbe, "KVR-I/21", "Nachbarschaft", "Frau Mueller beschwert sich über Gerüche.")

    async with (
        api(office, served, "BAU-T/31") as b,
        api(office, served, "KVR-I/21") as k,
        api(office, served, "KVR-III/11") as cosigner,
    ):

        async def both_indexed() -> bool:
            return (await found(b, "Muller"))["treffer"] == 1 and (await found(k, "Muller"))["treffer"] == 1

        await eventually(both_indexed, timeout=30)
        mine = await found(b, "Müller")
        assert [h["case_id"] for h in mine["ergebnisse"]] == [bau]
        assert "<mark>Müller</mark>" in mine["ergebnisse"][0]["ausschnitt"]
        assert mine["ergebnisse"][0]["aktenzeichen"] == az
        theirs = await found(k, "Müller")
        assert [h["case_id"] for h in theirs["ergebnisse"]] == [gewerbe]
        assert "<mark>Mueller</mark>" in theirs["ergebnisse"][0]["ausschnitt"]
        # counts and facets never show the other unit's Akten
        assert [f["wert"] for f in mine["facetten"]["aktenplan"]] == ["661.20"]
        assert [f["wert"] for f in theirs["facetten"]["aktenplan"]] == ["811.30"]
        assert (await found(b, "Mueller", aktenplan="811.30"))["treffer"] == 0
        # the applicant's name, the Aktenzeichen, stemming
        assert {h["case_id"] for h in (await found(b, "Mustermann"))["ergebnisse"]} == {bau}
        assert {h["art"] for h in (await found(b, f'"{az}"'))["ergebnisse"]} == {"vorgang", "dokument"}
        assert (await found(b, "Antrag"))["treffer"] == 1
        # the co-signing unit sees nothing until it is asked to co-sign ...
        assert (await found(cosigner, "Müller"))["treffer"] == 0
        await office.request_decision(bau)

        async def asked() -> bool:
            hits = (await found(cosigner, "Müller"))["ergebnisse"]
            return [h["case_id"] for h in hits] == [bau]

        await eventually(asked, timeout=30)
        # ... and the responsible unit sees the new status, as a facet and as a filter
        status = await found(b, "Müller")
        assert status["facetten"]["status"] == [
            {"wert": "zur_entscheidung", "name": "Zur Entscheidung", "anzahl": 1}
        ]
        assert (await found(b, "Müller", status="eingegangen"))["treffer"] == 0
        # bad input: a German message, never a crash
        r = await b.get(f"{PREFIX}/api/suche", params={"q": '"offen'})
        assert r.status_code == 400 and "Anführungszeichen" in r.json()["detail"]
        r = await b.get(f"{PREFIX}/api/suche", params={"q": ""})
        assert r.status_code == 400 and "Suchbegriff" in r.json()["detail"]
        # an erasure request restricts the case's personal data (Art. 18 DSGVO): no longer
        # processed, so no longer found — the other unit's case still is
        clerk = Staff("x", office.login_of("BAU-T/31")[0], "SB", "sachbearbeitung", "BAU-T/31")
        await EAkte(office.eakte).restrict_processing(
            clerk, bau, reference="Schreiben vom 20.11.2026", reason="Löschersuchen nach Art. 17 DSGVO"
        )

        async def withdrawn() -> bool:
            return (await found(b, "Müller"))["treffer"] == 0

        await eventually(withdrawn, timeout=30)
        assert (await found(k, "Mueller"))["treffer"] == 1
    # the running module writes its index: `rathaus eakte reindex` refuses, in German
    with pytest.raises(ValueError, match="laufenden Rathaus"):
        await reindex(office.eakte)
    async with httpx.AsyncClient(base_url=served) as anonymous:
        assert (await anonymous.get(f"{PREFIX}/api/suche", params={"q": "Müller"})).status_code == 401
        page = await anonymous.get(f"{PREFIX}/suche", params={"q": "Müller"})
        assert page.status_code in (302, 303) and page.headers["location"].endswith("/anmelden")


async def test_the_page_shows_hits_facets_and_errors(office: Any, clerk_of: Any) -> None:
    case_id = await office.submit("test-mitzeichnung", SONDERNUTZUNG)
    await office.wait_for("case.opened.v1", case_id)
    await file(
        office, case_id, "BAU-T/31", "Vermerk <Ortstermin>", "Ortstermin mit Frau Schäfer & Herrn Bauer."
    )
    clerk = await clerk_of("BAU-T/31")

    async def shown() -> bool:
        page = (await clerk.http.get(f"{PREFIX}/suche", params={"q": "Schaefer"})).text
        return "<mark>Schäfer</mark>" in page

    await eventually(shown, timeout=30)
    page = (await clerk.http.get(f"{PREFIX}/suche", params={"q": "Schaefer"})).text
    assert "Vermerk &lt;Ortstermin&gt;" in page and "&amp; Herrn" in page
    assert "Treffer eingrenzen" in page and "661.20" in page
    bad = (await clerk.http.get(f"{PREFIX}/suche", params={"q": "B*u"})).text
    assert "nur am Ende eines Wortes" in bad and 'aria-invalid="true"' in bad


async def test_the_index_catches_up_after_a_crash_and_is_rebuilt_the_same(
    any_database: Settings, office: Any, tmp_path: Path
) -> None:
    """On SQLite and on PostgreSQL (``any_database`` comes first: the office is built on it)."""
    wanted = "postgresql" if "eakte" in any_database.databases else "sqlite"
    assert office.eakte.db.url.get_backend_name() == wanted
    first = await office.submit("test-mitzeichnung", SONDERNUTZUNG)
    await office.wait_for("case.opened.v1", first)
    await file(office, first, "BAU-T/31", "Antrag", "Die Anträge der Frau Weiß zur Straße.")
    path = tmp_path / "suche"
    indexer = SearchIndexer(office.eakte, path)
    await indexer.start()

    async def search(q: str) -> list[tuple[str, str]]:
        results = await indexer.search(parse(q), "BAU-T/31", {}, limit=100)
        return sorted((h.key, h.status) for h in results.hits)

    async def has(q: str, n: int) -> bool:
        return indexer.ready and len(await search(q)) == n

    await eventually(lambda: has("Weiss Strasse", 1), timeout=30)
    await indexer.stop()  # "crashed": the E-Akte writes on, nobody indexes
    second = await office.submit("test-mitzeichnung", SONDERNUTZUNG)
    await office.wait_for("case.opened.v1", second)
    await file(office, second, "BAU-T/31", "Nachtrag", "Frau Weiss reicht die Strassenskizze nach.")
    await office.wait_for("document.filed.v1", second)
    again = SearchIndexer(office.eakte, path)
    await again.start()  # catches up from its watermark
    assert again.index is not None and not again.index.rebuilt
    indexer = again
    await eventually(lambda: has("Weiß", 2), timeout=30)
    before = {q: await search(q) for q in ("Weiß", "Strasse*", '"Frau Weiß"', "Antrag")}
    assert len(before["Strasse*"]) == 2 and before["Antrag"]
    await again.stop()
    shutil.rmtree(path)
    rebuilt = SearchIndexer(office.eakte, path)
    await rebuilt.start()
    assert rebuilt.index is not None and rebuilt.index.rebuilt
    indexer = rebuilt
    await eventually(lambda: has("Weiß", 2), timeout=30)
    assert {q: await search(q) for q in before} == before
    # what `rathaus eakte reindex` does: the same again, counted
    assert await rebuilt.reset() == 4  # two Vorgänge and a document in each
    assert {q: await search(q) for q in before} == before
    await rebuilt.stop()
    # the module's own index lives in its data directory
    assert index_path(office.eakte) == office.settings.data_dir / "eakte" / "suche"
    # a second replica on the same data dir keeps its own (one writer per tantivy index)
    office.eakte.replica = "1"
    assert index_path(office.eakte) == office.settings.data_dir / "eakte" / "suche-1"
    office.eakte.replica = "0"
