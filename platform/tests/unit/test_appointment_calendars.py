"""Appointment calendars as data: opening hours, Bavarian holidays, exceptions, the bookable
window, persons × duration, and German problems with file and place for bad files."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from rathaus.platform.kernel.appointments import TZ, CalendarProblems, Calendars, load_calendars
from rathaus.platform.kernel.procedures import load_procedures

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)  # a Monday


@pytest.fixture
def calendars() -> Calendars:
    return load_calendars(load_procedures())


def test_the_built_in_buergerbueros(calendars: Calendars) -> None:
    assert len(calendars.locations) == 3
    assert [x.id for x in calendars.for_service("wohnsitzanmeldung")] == [
        "buergerbuero-pasing",
        "buergerbuero-ruppertstrasse",
    ]
    assert calendars.title("personalausweis") == "Personalausweis beantragen"
    assert calendars.protection.max_extensions >= 10


def test_opening_hours_holidays_and_exceptions(calendars: Calendars) -> None:
    ruppert = calendars.locations["buergerbuero-ruppertstrasse"]
    assert ruppert.opening(date(2026, 12, 1)) == [(time(8, 30), time(12, 0)), (time(14, 0), time(18, 0))]
    assert ruppert.opening(date(2026, 12, 5)) == []  # Saturday
    assert (
        ruppert.opening(date(2026, 12, 25)) == [] and ruppert.closed_reason(date(2026, 12, 25)) == "Feiertag"
    )
    assert (
        ruppert.opening(date(2026, 12, 24)) == []
        and ruppert.closed_reason(date(2026, 12, 24)) == "Heiligabend"
    )
    assert ruppert.opening(date(2026, 12, 22)) == [(time(8, 30), time(12, 0))]  # special hours
    assert ruppert.opening(date(2027, 8, 15)) == []  # Mariä Himmelfahrt (a Sunday anyway)
    assert ruppert.opening(date(2027, 1, 6)) == []  # Heilige Drei Könige, a Wednesday


def test_persons_times_duration_and_the_grid(calendars: Calendars) -> None:
    ruppert = calendars.locations["buergerbuero-ruppertstrasse"]
    assert ruppert.minutes("personalausweis", 3) == 60
    one = ruppert.starts("personalausweis", date(2026, 12, 3), 1)  # Thursday 08:30-15:00
    three = ruppert.starts("personalausweis", date(2026, 12, 3), 3)
    assert one[0].time() == time(8, 30) and one[-1].time() == time(14, 40)
    assert three[-1].time() == time(14, 0)  # a family of three needs the last hour
    assert len(ruppert.seats(three[0], 60)) == 6  # six slots of ten minutes
    tuesday = ruppert.starts("personalausweis", date(2026, 12, 1), 3)
    assert datetime(2026, 12, 1, 11, 0, tzinfo=TZ) in tuesday
    assert datetime(2026, 12, 1, 11, 10, tzinfo=TZ) not in tuesday  # would reach past 12:00
    assert datetime(2026, 12, 1, 14, 0, tzinfo=TZ) in tuesday


def test_what_cannot_be_booked_is_refused_in_german(calendars: Calendars) -> None:
    ruppert = calendars.locations["buergerbuero-ruppertstrasse"]

    def refusal(at: datetime, persons: int = 1, service: str = "personalausweis") -> str:
        return ruppert.refusal(service, at, persons, NOW) or ""

    assert refusal(datetime(2026, 12, 1, 8, 30, tzinfo=TZ)) == ""
    assert "in der Vergangenheit" in refusal(datetime(2026, 11, 30, 8, 0, tzinfo=TZ))
    assert "frühestens für den 01.12.2026" in refusal(datetime(2026, 11, 30, 11, 0, tzinfo=TZ))
    assert "höchstens 60 Tage" in refusal(datetime(2027, 1, 30, 8, 30, tzinfo=TZ))
    assert "geschlossen (Feiertag)" in refusal(datetime(2026, 12, 25, 8, 30, tzinfo=TZ))
    assert "außerhalb der Öffnungszeiten" in refusal(datetime(2026, 12, 1, 13, 0, tzinfo=TZ))
    assert "Zu dieser Uhrzeit" in refusal(datetime(2026, 12, 1, 8, 35, tzinfo=TZ))
    assert "1 bis 5 Personen" in refusal(datetime(2026, 12, 1, 8, 30, tzinfo=TZ), persons=6)
    assert "nicht angeboten" in refusal(datetime(2026, 12, 1, 8, 30, tzinfo=TZ), service="hundesteuer")
    assert ruppert.window(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)) == (
        date(2026, 12, 2),
        date(2027, 1, 30),
    )


BAD = """
[protection]
max_extensions = 3

[[locations]]
id = "Büro 1"
name = "Kaputt"
unit = "GIBT-ES-NICHT"
counters = 0
address = { street = "A 1", postal_code = "80331", city = "München" }
hours = { mo = ["12:00-08:00"], xx = ["8-12"] }
exceptions = [{ date = "2026-02-30", closed = true, hours = ["09:00-10:00"] }]
services = [{ service = "gibt-es-nicht", minutes_per_person = 15 }]
"""


def test_bad_files_are_reported_with_file_and_place(tmp_path: Path) -> None:
    folder = tmp_path / "stadt"
    folder.mkdir()
    (folder / "standorte.toml").write_text(BAD, encoding="utf-8")
    with pytest.raises(CalendarProblems) as found:
        Calendars.load(load_procedures(), [folder])
    report = str(found.value)
    for expected in (
        "stadt/standorte.toml, locations[0] (Büro 1): „Büro 1“ ist keine gültige Kennung",
        "„GIBT-ES-NICHT“ steht nicht in einheiten.toml",
        "counters: Die Angabe muss mindestens 1 sein",
        "„12:00-08:00“: Das Ende muss nach dem Beginn liegen",
        "hours.xx: Wochentage heißen mo, di, mi, do, fr, sa, so",
        "„8-12“ ist keine Zeitspanne",
        "„2026-02-30“ ist kein Datum",
        "Ein geschlossener Tag hat keine Öffnungszeiten",
        "Die Leistung „gibt-es-nicht“ gibt es weder als Verfahren noch in katalog.toml",
        "minutes_per_person muss ein Vielfaches von slot_minutes (10) sein",
        "mindestens 10-mal verlängert",
    ):
        assert expected in report, (expected, report)
    (folder / "standorte.toml").write_text("[[locations]]\nid = 1\n", encoding="utf-8")
    with pytest.raises(CalendarProblems, match=r"stadt/standorte\.toml: Hier wird str erwartet"):
        Calendars.load(load_procedures(), [folder])


def test_a_city_directory_adds_locations_and_the_procedures_ignore_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "stadt"
    folder.mkdir()
    (folder / "standorte.toml").write_text(
        '[[locations]]\nid = "buergerbuero-test"\nname = "Test"\nunit = "KVR-II/11"\n'
        'address = { street = "A 1", postal_code = "80331", city = "München" }\n'
        'hours = { mo = ["08:00-09:00"] }\nservices = [{ service = "reisepass", minutes_per_person = 30 }]\n',
        encoding="utf-8",
    )
    procedures = load_procedures([folder])  # standorte.toml is no unknown procedure file
    calendars = Calendars.load(procedures, [folder])
    assert "buergerbuero-test" in calendars.locations and len(calendars.locations) == 4


def test_the_services_command_and_the_start_report_a_broken_calendar_in_german(tmp_path: Path) -> None:
    """`rathaus services check` and `rathaus up` (before it starts anything) read the
    calendars too: a broken standorte.toml is a German report, not a traceback."""
    import argparse
    import io

    from rathaus.platform.kernel.settings import Settings
    from rathaus.platform.runtime.processes import RuntimeProblem
    from rathaus.platform.runtime.serve import check_procedures
    from rathaus.platform.runtime.services import run_services

    folder = tmp_path / "stadt"
    folder.mkdir()
    (folder / "standorte.toml").write_text("[[locations]]\nid = 1\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", procedure_dirs=[folder])
    out, err = io.StringIO(), io.StringIO()
    assert run_services(settings, argparse.Namespace(action="check", dir=[]), out, err) == 1
    assert "Fehler in den Terminkalendern (standorte.toml)" in err.getvalue()
    assert "Hier wird str erwartet" in err.getvalue() and out.getvalue() == ""
    with pytest.raises(RuntimeProblem, match=r"Terminkalender .* Rathaus startet nicht"):
        check_procedures(settings)

    (folder / "standorte.toml").unlink()
    out, err = io.StringIO(), io.StringIO()
    assert run_services(settings, argparse.Namespace(action="check", dir=[]), out, err) == 0
    assert "3 Bürgerbüros mit Terminen" in out.getvalue(), out.getvalue()
