"""A service is data: an eleventh service added as a procedure file only (no code) is
carried from application to Postkorb; a case keeps its procedure version across a restart
and a newer version; a changed or invalid procedure file stops the start, with nothing
half-started."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import jsonschema
import pytest

from e2e.city import City, staff
from rathaus.platform.testing import EmbeddedPlatform, eventually

pytestmark = [pytest.mark.e2e]

TREE = """
# Fällgenehmigung nach der Baumschutzverordnung: a service the city adds itself, as data only.
id = "baumfaellung"
version = {version}
title = "Genehmigung zum Fällen eines Baumes beantragen"
summary = "Geschützte Bäume auf Privatgrund dürfen nur mit Genehmigung gefällt werden."
lebenslagen = ["Bauen und Umwelt"]
keywords = ["baum", "fällen", "baumfällung", "baumschutz"]
unit = "BAU-T/31"
aktenplan = "6"
legal_basis = "Baumschutzverordnung der Landeshauptstadt München"
appeal = "rechtsbehelf_klage"

[decision]
mode = "clerk"
reminder_days = 14
escalation_days = 7
reasons = "Die Fällung ist nach der Baumschutzverordnung zu genehmigen."

[address]
street = "strasse"
house_number = "hausnummer"
postal_code = "postleitzahl"

[template_texts]
granted = '''{{% extends "_brief.html" %}}{{% block body %}}
<h1>Genehmigung zum Fällen eines Baumes</h1>
<p>Fassung {version} der Genehmigung.</p>
<p>Die Fällung der {{{{ text.baumart }}}} ({{{{ text.stammumfang }}}} cm Stammumfang) auf dem Grundstück
{{{{ angaben.strasse }}}} {{{{ angaben.hausnummer }}}} wird genehmigt.</p>
<p>{{{{ entscheidung.reasons }}}}</p>
{{% endblock %}}'''
refused = '''{{% extends "_brief.html" %}}{{% block body %}}<h1>Ablehnung</h1><p>{{{{ entscheidung.reasons }}}}</p>{{% endblock %}}'''

[open_data]
dataset = "baumfaellungen-stadtbezirk-monat"
title = "Baumfällgenehmigungen nach Stadtbezirk und Monat"
summary = "Anträge auf Fällgenehmigungen und ihre Ergebnisse."
themes = ["ENVI"]

[[form]]
name = "baum"
kind = "group"
label = "Der Baum"

[[form]]
name = "baumart"
parent = "baum"
label = "Baumart"

[[form]]
name = "stammumfang"
parent = "baum"
label = "Stammumfang in 1 m Höhe (cm)"
datatype = "num_int"
min_value = 80
range_message = "Geschützt sind Bäume ab 80 cm Stammumfang; für kleinere brauchen Sie keine Genehmigung."

[[form]]
name = "strasse"
parent = "baum"
label = "Straße des Grundstücks"

[[form]]
name = "hausnummer"
parent = "baum"
label = "Hausnummer"

[[form]]
name = "postleitzahl"
parent = "baum"
label = "Postleitzahl"
pattern = "8[0-1][0-9]{{3}}"
pattern_message = "Bitte geben Sie eine Münchner Postleitzahl an."
"""
APPLICATION = {
    "service_id": "baumfaellung",
    "angaben": {
        "baumart": "Rotbuche",
        "stammumfang": 140,
        "strasse": "Zenettistraße",
        "hausnummer": "12",
        "postleitzahl": "80337",
    },
}


def write_tree(folder: Path, version: int) -> Path:
    path = folder / "baumfaellung" / f"v{version}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TREE.format(version=version), encoding="utf-8")
    return path


def city_with(tmp_path: Path, procedures: Path) -> EmbeddedPlatform:
    platform = EmbeddedPlatform(tmp_path / "rathaus")
    platform.extra_env["RATHAUS_PROCEDURE_DIRS"] = json.dumps([str(procedures)])
    return platform


async def granted_bescheid(city: City, http: httpx.AsyncClient, case_id: str) -> str:
    await city.decide("BAU-T/31", case_id)
    delivered = await city.delivered(case_id)
    return await city.bescheid(http, delivered["aktenzeichen"])


async def test_an_eleventh_service_as_a_file_and_a_case_keeps_its_version(tmp_path: Path) -> None:
    procedures = tmp_path / "leistungen"
    write_tree(procedures, 1)
    platform = city_with(tmp_path, procedures)
    platform.start()
    try:
        async with City(platform) as city:
            http = await city.citizen()
            offered = (await http.get("/api/leistungen")).json()
            assert any(s["service_id"] == "baumfaellung" and s["version"] == 1 for s in offered)
            schema = (await http.get("/api/schemas/baumfaellung/1.schema.json")).json()
            jsonschema.Draft202012Validator(schema).validate({**APPLICATION, "version": 1})
            # the form's own rules, on a service no code knows
            r = await http.post(
                "/api/antraege",
                json={**APPLICATION, "angaben": {**APPLICATION["angaben"], "stammumfang": 40}},
            )
            assert r.status_code == 400 and "80 cm" in r.json()["fehler"]["stammumfang"], r.text
            first = await city.apply(http, APPLICATION)

            async def opened() -> bool:
                return (await http.get(f"/api/antraege/{first}")).json()["aktenzeichen"] is not None

            await eventually(opened, timeout=120)
            await http.aclose()

        # a newer version is published while the first case runs; the platform restarts
        platform.stop()
        write_tree(procedures, 2)
        (procedures / "baumfaellung" / "v1.toml").touch()  # untouched content: still the same version
        platform.start()
        async with City(platform) as city:
            http = await city.citizen()
            offered = (await http.get("/api/leistungen")).json()
            assert any(s["service_id"] == "baumfaellung" and s["version"] == 2 for s in offered)
            second = await city.apply(http, APPLICATION)
            old, new = await granted_bescheid(city, http, first), await granted_bescheid(city, http, second)
            assert "Fassung 1 der Genehmigung" in old and "Rotbuche" in old and "140 cm" in old
            assert "Fassung 2 der Genehmigung" in new
            statuses = {c["case_id"]: c for c in (await http.get("/api/antraege")).json()}
            assert statuses[first]["service_version"] == 1 and statuses[second]["service_version"] == 2
            await http.aclose()
            # the staff case page says which version applies
            login, password = staff(platform, "BAU-T/31")
            async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as clerk:
                page = (await clerk.get("/arbeitsplatz/anmelden")).text
                token = page.split('name="_csrf_token" value="')[1].split('"')[0]
                await clerk.post(
                    "/arbeitsplatz/anmelden",
                    data={"username": login, "password": password, "_csrf_token": token},
                )
                case_page = (await clerk.get(f"/arbeitsplatz/vorgaenge/{first}")).text
                assert "Version 1" in case_page and "Genehmigung zum Fällen eines Baumes" in case_page
    finally:
        platform.stop()

    # a version in use is edited in place: the next start refuses and says which one
    path = procedures / "baumfaellung" / "v1.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("Fassung 1", "Fassung eins"), encoding="utf-8")
    refused = up_fails(platform)
    assert "Version 1 des Verfahrens baumfaellung" in refused and "unveränderlich" in refused


def up_fails(platform: EmbeddedPlatform) -> str:
    """``rathaus up`` that must refuse to start: its report, after checking nothing listens."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rathaus"), "up", "--data-dir", str(platform.data_dir)],
        env=platform.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    for port in (platform.web_port, platform.nats_port, platform.temporal_port):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} is in use: something started"
    return result.stderr


def test_an_invalid_procedure_file_stops_the_start_with_nothing_started(tmp_path: Path) -> None:
    procedures = tmp_path / "leistungen"
    path = write_tree(procedures, 1)
    text = path.read_text(encoding="utf-8")
    text = text.replace('datatype = "num_int"', 'datatype = "zahl"').replace(
        'label = "Baumart"', 'label = "Baumart"\nvisible_if = "baumhoehe > 10"'
    )
    path.write_text(text, encoding="utf-8")
    platform = city_with(tmp_path, procedures)
    report = up_fails(platform)
    assert "baumfaellung/v1.toml" in report and "Rathaus startet nicht" in report
    assert "„zahl“ ist nicht erlaubt" in report and "„baumhoehe“ ist weder ein Feld" in report
    assert not (platform.data_dir / "nats").exists() and not (platform.data_dir / "temporal").exists()
    check = subprocess.run(
        [str(Path(sys.executable).parent / "rathaus"), "services", "check", "--dir", str(procedures)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 1 and "„zahl“ ist nicht erlaubt" in check.stderr, check.stdout + check.stderr
