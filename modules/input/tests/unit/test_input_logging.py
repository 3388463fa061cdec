"""What input management writes to its log about a failure: never the message, which may
quote a letter's text."""

from __future__ import annotations

from pathlib import Path

from rathaus.input.folder import unique_target
from rathaus.input.handlers import failure


def test_a_failure_is_logged_by_type_and_place_only() -> None:
    try:
        raise ValueError("Erika Mustermann, Zenettistraße 12")
    except ValueError as exc:
        logged = failure(exc)
    assert logged.startswith("ValueError at test_input_logging.py:")
    assert "Mustermann" not in logged


def test_a_taken_file_never_overwrites_another(tmp_path: Path) -> None:
    (tmp_path / "brief.pdf").write_bytes(b"1")
    (tmp_path / "brief-2.pdf.fehler.txt").write_text("x")
    assert unique_target(tmp_path, "brief.pdf").name == "brief-3.pdf"
    assert unique_target(tmp_path, "neu.pdf").name == "neu.pdf"
