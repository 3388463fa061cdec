"""The built-in services as data, proved by their own files: every current version's
example submission is valid for a JSON Schema validator that is not ours and for the
rule engine; broken variants are refused with German messages at the right field;
computed values (taxes, fees, pickup days) come out right; every Bescheid template
renders for every kind of applicant the service accepts.

The examples are written to stay valid on any day: dates that must lie ahead are far
ahead, dates that must lie behind are in the past (a late one only warns).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import jsonschema
import pytest
from jinja2 import ChoiceLoader, DictLoader, FileSystemLoader, Undefined
from jinja2.sandbox import SandboxedEnvironment

from rathaus.contracts.procedures import DATA as BUILTIN
from rathaus.platform.kernel.calendar import is_holiday, is_working_day
from rathaus.platform.kernel.procedures import Definition, Inputs, Procedures, Result, judge, path_key
from rathaus.platform.kernel.procedures.display import flat, sections
from rathaus.platform.kernel.procedures.engine import evaluate
from rathaus.platform.kernel.procedures.schema import submission_schema

BASE_URL = "https://rathaus.example"
TODAY = date.today()
# what the registers and the street directory return for the example person (once-only)
SOURCES: dict[str, list[str]] = {
    "melderegister.vorname": ["Anna"],
    "melderegister.familienname": ["Berger"],
    "melderegister.geburtsdatum": ["1990-05-17"],
    "melderegister.strasse": ["Zenettistraße"],
    "melderegister.hausnummer": ["12"],
    "melderegister.postleitzahl": ["80337"],
    "melderegister.ort": ["München"],
    "melderegister.stadtbezirk": ["02 Ludwigsvorstadt-Isarvorstadt"],
    "melderegister.einzugsdatum": ["2019-04-01"],
    "fahrzeugregister.kennzeichen": ["M-AB 1234"],
    "strassenverzeichnis.stadtbezirk": ["02 Ludwigsvorstadt-Isarvorstadt"],
    "strassenverzeichnis.parkzone": ["Schlachthofviertel"],
}
DROP = object()  # in a patch: remove this value


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


@cache
def procedures() -> Procedures:
    return Procedures.load()


def current() -> list[Definition]:
    return procedures().online()


def example(definition: Definition) -> dict[str, Any]:
    path = definition.path.parent / f"beispiel-v{definition.version}.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def files_of(body: Mapping[str, Any]) -> dict[str, Any]:
    return {n["art"]: n for n in body.get("nachweise", [])}


def submit(
    definition: Definition,
    angaben: Mapping[str, Any],
    files: Mapping[str, Any],
    sources: Mapping[str, list[str]] = SOURCES,
) -> Result:
    return judge(definition, Inputs(angaben, "json", files, sources, TODAY, is_holiday))


def errors(result: Result) -> dict[str, str]:
    return {path_key(p): m for p, m in result.errors.items()}


def warnings(result: Result) -> dict[str, str]:
    return {path_key(p): m for p, m in result.warnings.items()}


def validator(definition: Definition) -> jsonschema.Draft202012Validator:
    schema = submission_schema(definition, BASE_URL)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


PATH_PART = re.compile(r"([a-z_][a-z0-9_]*)(?:\[(\d+)\])?")


def patched(angaben: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``angaben`` with values set at paths like ``hunde[1].rasse``."""
    out: dict[str, Any] = json.loads(json.dumps(angaben))
    for path, value in changes.items():
        parts = path.split(".")
        target: Any = out
        for part in parts[:-1]:
            found = PATH_PART.fullmatch(part)
            assert found, path
            target = target[found[1]]
            if found[2] is not None:
                target = target[int(found[2])]
        last = PATH_PART.fullmatch(parts[-1])
        assert last, path
        if last[2] is not None:
            target = target[last[1]]
            key: str | int = int(last[2])
        else:
            key = last[1]
        if value is DROP:
            del target[key]
        else:
            target[key] = value
    return out


def value_at(data: Mapping[str, Any], path: str) -> Any:
    target: Any = data
    for part in path.split("."):
        found = PATH_PART.fullmatch(part)
        assert found, path
        target = target[found[1]]
        if found[2] is not None:
            target = target[int(found[2])]
    return target


# -- the files as a whole -----------------------------------------------------------------------


def test_every_current_version_has_an_example() -> None:
    ids = {d.id for d in current()}
    assert {
        "bewohnerparkausweis",
        "meldebescheinigung",
        "wohnsitzanmeldung",
        "hundesteuer",
        "gewerbeanmeldung",
        "sondernutzung",
        "halteverbotszone",
        "sperrmuell",
        "fundsache",
        "reisegewerbekarte",
    } <= ids
    for definition in current():
        body = example(definition)
        assert (body["service_id"], body["version"]) == (definition.id, definition.version)


def test_fim_ids_are_unique_across_services() -> None:
    owner: dict[str, str] = {}
    for definition in procedures().all():
        p = definition.procedure
        ids = [e.id for e in p.form if e.id] + [r.id for r in p.rules if r.id]
        assert len(ids) == len(set(ids)), f"{definition.key}: doppelte FIM-Kennungen"
        for fim_id in ids:
            assert re.fullmatch(r"[FGR]\d{11}", fim_id), fim_id
            assert owner.setdefault(fim_id, p.id) == p.id, f"{fim_id} in {owner[fim_id]} und {p.id}"


@pytest.mark.parametrize("service", [d.id for d in current()])
def test_the_example_is_valid_for_the_schema_and_the_engine(service: str) -> None:
    definition = procedures().current(service)
    assert definition is not None
    body = example(definition)
    schema_validator = validator(definition)
    assert [f"{list(e.path)}: {e.message}" for e in schema_validator.iter_errors(body)] == []
    result = submit(definition, body["angaben"], files_of(body))
    assert errors(result) == {}
    # what the engine keeps (computed values included) fits the same schema
    kept = {"service_id": definition.id, "version": definition.version, "angaben": result.data}
    assert [e.message for e in schema_validator.iter_errors(kept)] == []
    for node in definition.file_fields():
        if node.low >= 1 and ((node.name,) in result.visible):
            assert node.name in files_of(body), f"the example lacks the required file {node.name}"


def posted(definition: Definition, angaben: Mapping[str, Any]) -> dict[str, Any]:
    """The typed JSON as the HTML form posts it: German numbers and dates, checked boxes as "ja"."""

    def one(name: str, value: Any) -> Any:
        datatype = definition.node(name).element.datatype
        if datatype == "bool":
            return "ja" if value else None
        if datatype in ("num", "num_int", "num_currency"):
            return f"{Decimal(str(value)):f}".replace(".", ",")
        if datatype == "date":
            return date.fromisoformat(value).strftime("%d.%m.%Y")
        return f" {value} "

    out: dict[str, Any] = {}
    for name, value in angaben.items():
        if isinstance(value, list):
            out[name] = [{k: one(k, v) for k, v in row.items() if one(k, v) is not None} for row in value]
        elif one(name, value) is not None:
            out[name] = one(name, value)
    return out


@pytest.mark.parametrize("service", [d.id for d in current()])
def test_the_example_posted_as_a_form_is_judged_alike(service: str) -> None:
    definition = procedures().current(service)
    assert definition is not None
    body = example(definition)
    by_json = submit(definition, body["angaben"], files_of(body))
    by_form = judge(
        definition,
        Inputs(posted(definition, body["angaben"]), "form", files_of(body), SOURCES, TODAY, is_holiday),
    )
    assert errors(by_form) == errors(by_json) == {}
    assert warnings(by_form) == warnings(by_json)
    # an unchecked box is posted as nothing and kept as "no"; everything else is the same
    assert {k: v for k, v in by_form.data.items() if v is not False} == {
        k: v for k, v in by_json.data.items() if v is not False
    }


# -- broken variants ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A change to a service's example and what the engine must answer (German, at the field)."""

    service: str
    label: str
    changes: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # path -> part of the message
    warnings: dict[str, str] = field(default_factory=dict)
    files: dict[str, Any] | None = None  # instead of the example's
    sources: dict[str, list[str]] | None = None
    values: dict[str, Any] = field(default_factory=dict)  # computed values expected in the data

    def __str__(self) -> str:
        return f"{self.service}: {self.label}"


def person(i: int, **over: Any) -> dict[str, Any]:
    return {
        "vorname": f"Kind{i}",
        "familienname": "Berger",
        "geburtsdatum": "2015-01-01",
        "geburtsort": "München",
        "geschlecht": "x",
        "staatsangehoerigkeit": "DEU",
        **over,
    }


def next_sunday(after: int) -> str:
    d = TODAY + timedelta(days=after)
    return (d + timedelta(days=(6 - d.weekday()) % 7)).isoformat()


MINOR = day(-365 * 10)
REFUSED = [
    Case(
        "bewohnerparkausweis",
        "Kennzeichen falsch",
        {"kennzeichen": "München 1"},
        {"kennzeichen": "wie auf dem Schild"},
    ),
    Case(
        "meldebescheinigung",
        "ohne Registerdaten",
        sources={"strassenverzeichnis.stadtbezirk": ["02 Ludwigsvorstadt-Isarvorstadt"]},
        errors={
            name: "wird aus dem Melderegister übernommen"
            for name in (
                "vorname",
                "familienname",
                "geburtsdatum",
                "strasse",
                "hausnummer",
                "postleitzahl",
                "ort",
                "einzugsdatum",
            )
        },
    ),
    Case(
        "meldebescheinigung",
        "unbekannter Zweck",
        {"verwendungszweck": "urlaub"},
        {"verwendungszweck": "eine der Möglichkeiten"},
    ),
    Case(
        "wohnsitzanmeldung",
        "Einzug zu weit in der Zukunft",
        {"einzugsdatum": day(30)},
        {"einzugsdatum": "höchstens 14 Tage in der Zukunft"},
    ),
    Case(
        "wohnsitzanmeldung",
        "erste Person ein Kind",
        {"personen[0].geburtsdatum": MINOR},
        {"personen[0].geburtsdatum": "jünger als 16 Jahre"},
    ),
    Case(
        "wohnsitzanmeldung",
        "niemand zieht ein",
        {"personen": []},
        {"personen": "mindestens eine Angabe bei „Personen“"},
    ),
    Case(
        "wohnsitzanmeldung",
        "elf Personen",
        {"personen": [person(i, geburtsdatum="1980-01-01") for i in range(11)]},
        {"personen": "höchstens 10 Angaben"},
    ),
    Case(
        "wohnsitzanmeldung",
        "Geschlecht nicht aus der Liste",
        {"personen[1].geschlecht": "f"},
        {"personen[1].geschlecht": "eine der Möglichkeiten"},
    ),
    Case(
        "wohnsitzanmeldung",
        "ohne Wohnungsgeberbestätigung",
        files={},
        errors={"wohnungsgeberbestaetigung": "Bitte laden Sie „Wohnungsgeberbestätigung“ hoch."},
    ),
    Case(
        "wohnsitzanmeldung",
        "Nebenwohnung ohne Hauptwohnung",
        {"wohnungsart": "neben"},
        {"hauptwohnung_anschrift": "Bitte geben Sie „Anschrift Ihrer Hauptwohnung“ an."},
    ),
    Case(
        "wohnsitzanmeldung",
        "Postleitzahl nicht in München",
        {"postleitzahl": "10115"},
        {"postleitzahl": "Münchner Postleitzahl"},
    ),
    Case(
        "hundesteuer",
        "unbekannte Rasse",
        {"hunde[1].rasse": "wolf"},
        {"hunde[1].rasse": "eine der Möglichkeiten"},
    ),
    Case(
        "hundesteuer",
        "sechs Hunde",
        {"hunde": [{"hundename": f"Hund {i}", "rasse": "dackel", "haltung_seit": day(-3)} for i in range(6)]},
        {"hunde": "höchstens 5 Angaben"},
        files={},
    ),
    Case(
        "hundesteuer",
        "Abmeldung ohne Datum und Grund",
        {"art": "abmeldung"},
        {
            "hunde[0].abmeldedatum": "Bitte geben Sie „Haltung beendet am“ an.",
            "hunde[0].abmeldegrund": "Bitte wählen Sie bei „Grund“",
            "hunde[1].abmeldedatum": "Bitte geben Sie „Haltung beendet am“ an.",
            "hunde[1].abmeldegrund": "Bitte wählen Sie bei „Grund“",
        },
    ),
    Case(
        "hundesteuer",
        "Negativzeugnis angegeben, nicht hochgeladen",
        files={},
        errors={"negativzeugnis_datei": "Bitte laden Sie „Negativzeugnis“ hoch."},
    ),
    Case(
        "hundesteuer",
        "Haltung vor dem Wurftag",
        {"hunde[0].haltung_seit": "2026-05-01"},
        {"hunde[0].haltung_seit": "vor seinem Wurftag"},
        warnings={"hunde[0].haltung_seit": "innerhalb von zwei Wochen"},
    ),
    Case(
        "hundesteuer",
        "weder An- noch Abmeldung",
        {"art": "ummeldung"},
        {"art": "eine der Möglichkeiten"},
        files={},
    ),
    Case(
        "gewerbeanmeldung",
        "Tätigkeit zu lang",
        {"taetigkeit": "Handel " * 72},
        {"taetigkeit": "höchstens 500 Zeichen"},
    ),
    Case(
        "gewerbeanmeldung",
        "Betriebsstätte nicht in München",
        {"postleitzahl": "20095"},
        {"postleitzahl": "Münchner Postleitzahl"},
    ),
    Case(
        "gewerbeanmeldung",
        "minderjährige Vertretung",
        {"vertretung_geburtsdatum": MINOR},
        {"vertretung_geburtsdatum": "volljährig"},
    ),
    Case(
        "gewerbeanmeldung",
        "Erlaubnis ohne Angabe",
        {"erlaubnis": True},
        {"erlaubnis_angabe": "Bitte geben Sie „Erlaubnis: Art, ausstellende Behörde und Datum“ an."},
    ),
    Case(
        "gewerbeanmeldung",
        "negative Beschäftigtenzahl",
        {"beschaeftigte_vollzeit": -1},
        {"beschaeftigte_vollzeit": "muss mindestens 0 sein"},
    ),
    Case(
        "gewerbeanmeldung",
        "ohne Art der Niederlassung",
        {"niederlassung": DROP},
        {"niederlassung": "Bitte wählen Sie bei „Die Betriebsstätte ist“"},
    ),
    Case(
        "sondernutzung",
        "Ende vor Beginn",
        {"bis": "2030-04-12"},
        {"bis": "nicht vor dem ersten Tag"},
    ),
    Case(
        "sondernutzung",
        "zu kurzfristig",
        {"von": day(3), "bis": day(5)},
        {"von": "mindestens zehn Tage vor dem ersten Tag"},
    ),
    Case(
        "sondernutzung",
        "Fläche zu groß",
        {"flaeche_qm": 600},
        {"flaeche_qm": "zwischen 1 und 500 Quadratmetern"},
    ),
    Case(
        "sondernutzung",
        "länger als ein Jahr",
        {"bis": "2031-06-30"},
        {"bis": "höchstens ein Jahr"},
    ),
    Case(
        "halteverbotszone",
        "zu kurzfristig",
        {"datum": day(5)},
        {"datum": "mindestens 14 Tage vorher"},
    ),
    Case(
        "halteverbotszone",
        "Ende vor Beginn",
        {"zeit_bis": "06:00"},
        {"zeit_bis": "nach ihrem Beginn"},
    ),
    Case(
        "halteverbotszone",
        "Zone zu lang",
        {"laenge_m": 40},
        {"laenge_m": "zwischen 5 und 30 Meter"},
    ),
    Case(
        "halteverbotszone",
        "ohne Skizze",
        files={},
        errors={"skizze": "Bitte laden Sie „Skizze der Halteverbotszone“ hoch."},
    ),
    Case(
        "halteverbotszone",
        "Uhrzeit unlesbar",
        {"zeit_von": "7 Uhr"},
        {"zeit_von": "als Uhrzeit (HH:MM)"},
    ),
    Case(
        "sperrmuell",
        "21 Gegenstände",
        {"gegenstaende": [{"gegenstand": "stuhl", "anzahl": 1}] * 21},
        {"gegenstaende": "höchstens 20 Angaben"},
    ),
    Case(
        "sperrmuell",
        "Anzahl null",
        {"gegenstaende[0].anzahl": 0},
        {"gegenstaende[0].anzahl": "muss mindestens 1 sein"},
    ),
    Case(
        "sperrmuell",
        "Sonstiges ohne Beschreibung",
        {"gegenstaende[2].beschreibung": DROP},
        {"gegenstaende[2].beschreibung": "Bitte geben Sie „Was genau?“ an."},
    ),
    Case(
        "sperrmuell",
        "zu viel",
        {"menge_m3": 9},
        {"menge_m3": "zwischen 0,5 und 8 Kubikmetern"},
    ),
    Case(
        "sperrmuell",
        "Telefonnummer mit Buchstaben",
        {"telefon": "null-acht-neun"},
        {"telefon": "Telefonnummer nur mit Ziffern"},
    ),
    Case(
        "fundsache",
        "Fund in der Zukunft",
        {"funddatum": day(1)},
        {"funddatum": "nicht in der Zukunft"},
    ),
    Case(
        "fundsache",
        "E-Mail-Adresse ohne @",
        {"email": "anna.berger"},
        {"email": "gültige E-Mail-Adresse"},
    ),
    Case(
        "fundsache",
        "Finderlohn ohne Kontakt",
        {"email": DROP},
        {"email": "Wenn Sie Finderlohn beanspruchen"},
    ),
    Case(
        "fundsache",
        "Beschreibung zu lang",
        {"beschreibung": "x" * 1001},
        {"beschreibung": "höchstens 1000 Zeichen"},
    ),
    Case(
        "fundsache",
        "Polizei ohne Dienststelle",
        {"verbleib": "polizei"},
        {"polizeidienststelle": "Bitte geben Sie „Polizeidienststelle“ an."},
    ),
    Case(
        "reisegewerbekarte",
        "keine Tätigkeit",
        {"waren_feilbieten": False},
        {"waren_feilbieten": "mindestens eine Tätigkeit"},
    ),
    Case(
        "reisegewerbekarte",
        "ohne Lichtbild",
        files={"fuehrungszeugnis_antrag": {"dateiname": "antrag.pdf"}},
        errors={"lichtbild": "Bitte laden Sie „Lichtbild“ hoch."},
    ),
    Case(
        "reisegewerbekarte",
        "minderjährig",
        {"geburtsdatum": MINOR},
        {"geburtsdatum": "ab 18 Jahren"},
    ),
    Case(
        "reisegewerbekarte",
        "Staatsangehörigkeit als Wort",
        {"staatsangehoerigkeit": "deutsch"},
        {"staatsangehoerigkeit": "eine der Möglichkeiten"},
    ),
]

ACCEPTED = [
    Case("meldebescheinigung", "nur Pflichtangaben", {"verwendungszweck": DROP, "mit_einzugsdatum": DROP}),
    Case(
        "wohnsitzanmeldung",
        "spät angemeldete Nebenwohnung",
        {
            "einzugsdatum": day(-30),
            "wohnungsart": "neben",
            "hauptwohnung_anschrift": "Hauptstraße 5, 93047 Regensburg",
        },
        warnings={"einzugsdatum": "Meldepflicht nach § 17 Abs. 1 BMG"},
    ),
    Case(
        "hundesteuer",
        "Kampfhund der Kategorie 2 ohne Negativzeugnis",
        {"hunde[1].negativzeugnis": False},
        files={},
        values={"hunde[0].steuer": 100, "hunde[1].steuer": 800, "jahressteuer": 900},
    ),
    Case(
        "hundesteuer",
        "weitere Hunde schon gemeldet",
        {"bereits_gemeldet": 1},
        values={"hunde[0].steuer": 150, "hunde[1].steuer": 150, "jahressteuer": 300},
    ),
    Case(
        "hundesteuer",
        "Kategorie 1 bleibt Kampfhund",
        {"hunde[1].rasse": "pitbull"},
        files={},
        values={"hunde[1].steuer": 800, "jahressteuer": 900},
    ),
    Case(
        "hundesteuer",
        "Abmeldung",
        {
            "art": "abmeldung",
            "bereits_gemeldet": DROP,
            "hunde": [
                {
                    "hundename": "Bruno",
                    "rasse": "labrador_retriever",
                    "steuermarke": "2026-004711",
                    "abmeldedatum": day(-3),
                    "abmeldegrund": "abgabe",
                    "neue_halter": "Max Huber, Lindwurmstraße 80, 80337 München",
                }
            ],
        },
        files={},
    ),
    Case(
        "gewerbeanmeldung",
        "erlaubnispflichtig, schon begonnen",
        {
            "erlaubnis": True,
            "erlaubnis_angabe": "Eintragung in die Handwerksrolle der Handwerkskammer für München und Oberbayern",
            "beginn": day(-20),
            "registernummer": DROP,
        },
        warnings={"beginn": "gleichzeitig mit dem Beginn"},
    ),
    Case(
        "sondernutzung",
        "Gerüst, Mindestgebühr",
        {"art": "geruest", "flaeche_qm": 2, "bis": "2030-04-15"},
        files={},
        values={"tage": 3, "gebuehr": 30},
    ),
    Case("sondernutzung", "Beispiel", values={"tage": 5, "gebuehr": 62.5}),
    Case(
        "halteverbotszone",
        "Umzug an einem Sonntag",
        {"datum": next_sunday(20)},
        warnings={"datum": "ein Sonntag"},
    ),
    Case("sperrmuell", "Beispiel", values={"gebuehr": 50}),
    Case("sperrmuell", "bis 2 m³ kostenlos", {"menge_m3": 2}, values={"gebuehr": 0}),
    Case("sperrmuell", "angefangener Kubikmeter", {"menge_m3": 2.1}, values={"gebuehr": 25}),
    Case(
        "fundsache",
        "anonym, verwahrt, ohne Rechte",
        {"finderlohn": False, "email": DROP, "verbleib": "verwahrt", "wert": 8},
        warnings={"wert": "bis 10 € Wert"},
    ),
    Case(
        "reisegewerbekarte",
        "Schausteller",
        {"waren_feilbieten": DROP, "schausteller": True, "waren": "Kinderkarussell"},
    ),
]


@pytest.mark.parametrize("case", REFUSED + ACCEPTED, ids=str)
def test_the_engine_answers_each_variant(case: Case) -> None:
    definition = procedures().current(case.service)
    assert definition is not None
    body = example(definition)
    angaben = patched(body["angaben"], case.changes)
    files = files_of(body) if case.files is None else case.files
    result = submit(definition, angaben, files, SOURCES if case.sources is None else case.sources)
    found = errors(result)
    assert set(found) == set(case.errors), found
    for path, part in case.errors.items():
        assert part in found[path], (path, found[path])
    # the example's own warnings (a date that has aged) may stay; others must be expected
    baseline = warnings(submit(definition, body["angaben"], files_of(body)))
    found_warnings = warnings(result)
    assert set(found_warnings) - set(baseline) == set(case.warnings) - set(baseline), found_warnings
    for path, part in case.warnings.items():
        assert part in found_warnings[path]
    for path, value in case.values.items():
        assert value_at(result.data, path) == value, path
    if result.ok:
        # an accepted variant is valid for the schema too
        body = {"service_id": definition.id, "version": definition.version, "angaben": angaben}
        assert [e.message for e in validator(definition).iter_errors(body)] == []


def test_every_service_has_a_refused_variant() -> None:
    assert {d.id for d in current()} <= {c.service for c in REFUSED}


def test_the_pickup_day_is_the_next_working_day_ten_days_ahead() -> None:
    definition = procedures().current("sperrmuell")
    assert definition is not None
    body = example(definition)
    pickup = TODAY + timedelta(days=10)
    while not is_working_day(pickup):
        pickup += timedelta(days=1)
    result = submit(definition, body["angaben"], {})
    assert result.data["abholtermin"] == pickup.isoformat()
    assert definition.fee_cents(result.data) == 5000


def test_the_certificate_is_automatic_only_with_address_and_moving_in_date() -> None:
    definition = procedures().current("meldebescheinigung")
    assert definition is not None and definition.automatic_if is not None
    data = submit(definition, example(definition)["angaben"], {}).data
    assert evaluate(definition, definition.automatic_if, data) is True
    assert evaluate(definition, definition.automatic_if, {**data, "einzugsdatum": None}) is False


def test_the_business_data_is_forwarded_only_in_part() -> None:
    definition = procedures().current("gewerbeanmeldung")
    assert definition is not None
    forwards = {f.recipient: f for f in definition.procedure.forward}
    assert {"finanzamt", "ihk", "berufsgenossenschaft", "statistik"} <= set(forwards)
    names = {n.name for n in definition.fields()}
    for forward in forwards.values():
        assert forward.legal_basis.startswith("§ 14")
        assert set(forward.fields) < names  # never the whole application
    assert "vertretung_geburtsdatum" not in forwards["statistik"].fields


# -- templates ----------------------------------------------------------------------------------


class Unprintable(Undefined):
    """Printing something that is not there is a template error; asking whether it is there is not."""

    __str__ = Undefined._fail_with_undefined_error


def datum(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.strftime("%d.%m.%Y")
    assert isinstance(value, str) and value, f"datum: {value!r} ist kein Datum"
    return date.fromisoformat(value[:10]).strftime("%d.%m.%Y")


def euro(value: Any) -> str:
    assert isinstance(value, int | float | Decimal) and not isinstance(value, bool), f"euro: {value!r}"
    text = f"{Decimal(str(value)):,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{text} €"


def environment(definition: Definition) -> SandboxedEnvironment:
    def code(value: Any, liste: str) -> str:
        codelist = definition.codelists.get(liste) or procedures().codelists.get(liste)
        assert codelist is not None, f"code: die Codeliste „{liste}“ gibt es nicht"
        names = {c.code: c.name for c in codelist.values}
        assert value in names, f"code: „{value}“ steht nicht in „{liste}“"
        return names[value]

    env = SandboxedEnvironment(
        loader=ChoiceLoader(
            [DictLoader(definition.template_sources), FileSystemLoader(str(BUILTIN / "vorlagen"))]
        ),
        autoescape=True,
        undefined=Unprintable,
    )
    env.filters.update(datum=datum, euro=euro, code=code)
    return env


ADDRESS = {"street": "Zenettistraße", "house_number": "12", "postal_code": "80337", "city": "München"}
RECIPIENTS: dict[str, dict[str, Any]] = {
    "person": {
        "person": {"given_name": "Anna", "family_name": "Berger", "birth_date": "1990-05-17"},
        "organisation": None,
        "address": ADDRESS,
        "email": "anna.berger@beispiel.de",
    },
    "organisation": {
        "person": None,
        "organisation": {
            "name": "Radlwerk Isarvorstadt GmbH",
            "legal_form": "GmbH",
            "register_number": "HRB 281734",
        },
        "address": ADDRESS,
        "email": "info@radlwerk.example",
    },
    "anonymous": {"person": None, "organisation": None, "address": None, "email": None},
}


def context(
    definition: Definition, data: dict[str, Any], files: dict[str, Any], outcome: str, applicant: str
) -> dict[str, Any]:
    p = definition.procedure
    unit = procedures().units[p.unit]
    unit_view = {"code": unit.code, "name": unit.name, "department": unit.department, "address": unit.address}
    city = "Landeshauptstadt München"
    fee = definition.fee_cents(data)
    facts: dict[str, Any] = {"gebuehr": euro(fee / 100), "gebuehr_cent": fee}
    if p.decision.valid_days:
        facts.update(
            gueltig_ab=TODAY.isoformat(), gueltig_bis=(TODAY + timedelta(p.decision.valid_days)).isoformat()
        )
    appeal = ""
    if definition.appeal_source:
        appeal = (
            environment(definition).from_string(definition.appeal_source).render(city=city, unit=unit_view)
        )
    mode = "fiction" if outcome == "fiction" else ("automatic" if p.decision.mode == "automatic" else "clerk")
    reasons = p.decision.reasons if outcome != "refused" else "Die Voraussetzungen liegen nicht vor."
    return {
        "city": city,
        "unit": unit_view,
        "recipient": RECIPIENTS[applicant],
        "aktenzeichen": f"{p.aktenplan}-2026-000123",
        "datum": TODAY.isoformat(),
        "eingang": day(-2),
        "entscheidung": {
            "outcome": "refused" if outcome == "refused" else "granted",
            "mode": mode,
            "reasons": reasons,
            "decided_at": f"{TODAY.isoformat()}T10:15:00+01:00",
        },
        "angaben": data,
        "text": flat(definition, data),
        "abschnitte": sections(definition, data, files),
        "fakten": facts,
        "leistung": {"id": p.id, "version": p.version, "title": p.title, "legal_basis": p.legal_basis},
        "zustellung": {
            "channel": "email" if applicant == "anonymous" else "postkorb",
            "text": "per E-Mail" if applicant == "anonymous" else "Postkorb Ihres Nutzerkontos",
            "hinweis": "Der Bescheid gilt am dritten Tag nach der Bereitstellung zum Abruf als bekannt gegeben.",
        },
        "rechtsbehelfsbelehrung": appeal,
        "fiktion": {"basis": p.decision.fiction_basis} if outcome == "fiction" else None,
    }


def renderings() -> list[tuple[str, str, str, str]]:
    """(service, variant, outcome, applicant) for every template of every current version."""
    out = []
    variants = {d.id: ["Beispiel"] for d in current()}
    for case in ACCEPTED:
        if case.label != "Beispiel":
            variants[case.service].append(case.label)
    for definition in current():
        for variant in variants[definition.id]:
            for outcome in sorted(definition.templates):
                for applicant in definition.procedure.applicants:
                    out.append((definition.id, variant, outcome, applicant))
    return out


@pytest.mark.parametrize(("service", "variant", "outcome", "applicant"), renderings())
def test_every_template_renders(service: str, variant: str, outcome: str, applicant: str) -> None:
    definition = procedures().current(service)
    assert definition is not None
    body = example(definition)
    case = next((c for c in ACCEPTED if c.service == service and c.label == variant), Case(service, variant))
    files = files_of(body) if case.files is None else case.files
    result = submit(definition, patched(body["angaben"], case.changes), files)
    assert result.ok, errors(result)
    html = (
        environment(definition)
        .get_template(definition.templates[outcome])
        .render(context(definition, result.data, files, outcome, applicant))
    )
    assert f"{definition.procedure.aktenplan}-2026-000123" in html
    assert "None" not in html and "{{" not in html and "{%" not in html
    if outcome == "fiction":
        assert definition.procedure.decision.fiction_basis in html
    if definition.appeal_source:
        assert "Rechtsbehelfsbelehrung" in html
