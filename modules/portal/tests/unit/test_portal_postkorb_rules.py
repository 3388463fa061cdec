"""Rules of the Postkorb's threads: who may answer when, a reply's checks (the application's
upload checks), how a deadline is named, which Nachforderung a reply answers."""

from __future__ import annotations

import io
from datetime import date

from PIL import Image

from rathaus.portal.domain.postkorb import (
    MAX_ATTACHMENTS,
    MSG_CLOSED,
    MSG_EMPTY,
    ReplyFile,
    answerable,
    check_reply,
    due_text,
)
from rathaus.portal.web.nachrichten import open_request


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "white").save(out, format="PNG")
    return out.getvalue()


def upload(data: bytes, slot: str = "datei-0", name: str = "scan.png") -> ReplyFile:
    return ReplyFile(slot, "fahrzeugschein", "Fahrzeugschein", name, data)


def test_a_thread_is_answered_while_its_case_runs() -> None:
    for status in ("eingegangen", "in_pruefung", "zur_entscheidung", "entschieden"):
        assert answerable(status)
    assert not answerable("zugestellt")
    assert check_reply("Danke", [], "zugestellt").errors == {"text": MSG_CLOSED}


def test_a_reply_needs_text_or_a_file() -> None:
    assert check_reply("  \r\n ", [], "in_pruefung").errors == {"text": MSG_EMPTY}
    reply = check_reply("Anbei\r\nder Schein", [upload(png())], "in_pruefung")
    assert reply.errors == {} and reply.text == "Anbei\nder Schein"
    assert [(f.media_type, f.filename) for f in reply.files] == [("image/png", "scan.png")]
    assert check_reply("", [upload(png())], "in_pruefung").errors == {}


def test_attachments_get_the_application_upload_checks() -> None:
    def error(data: bytes, name: str = "scan.png") -> str:
        return check_reply("x", [upload(data, name=name)], "in_pruefung").errors["datei-0"]

    assert error(b"") == "scan.png: Die Datei ist leer."
    assert "keine erlaubte Datei" in error(b"MZ\x90\x00 a program", "scan.pdf")  # the name does not count
    assert "beschädigt" in error(png()[:40])  # a truncated image
    assert "beschädigt" in error(b"%PDF-1.7 no pages", "kaputt.pdf")
    assert "zu groß" in error(b"%PDF-" + b"0" * (10 * 1024 * 1024))
    many = [upload(png(), slot="weitere") for _ in range(MAX_ATTACHMENTS + 1)]
    assert "höchstens" in check_reply("x", many, "in_pruefung").errors["weitere"]
    assert check_reply("x" * 10_000, [], "in_pruefung").errors == {}
    assert "text" in check_reply("x" * 10_001, [], "in_pruefung").errors


def test_the_deadline_is_named_by_the_days_left() -> None:
    today = date(2026, 12, 1)
    assert due_text("2026-12-15", today) == "Frist bis 15.12.2026 (noch 14 Tage)"
    assert due_text("2026-12-02", today) == "Frist bis 02.12.2026 (noch 1 Tag)"
    assert due_text("2026-12-01", today) == "Frist endet heute (01.12.2026)"
    assert due_text("2026-11-30", today) == "Frist abgelaufen am 30.11.2026"
    assert due_text("", today) == ""


def test_a_reply_answers_the_newest_nachforderung_not_answered_yet() -> None:
    ask1 = {"message_id": "m1", "direction": "behoerde", "requested": [{"title": "A"}], "in_reply_to": ""}
    plain = {"message_id": "m2", "direction": "behoerde", "requested": [], "in_reply_to": ""}
    answer1 = {"message_id": "r1", "direction": "buerger", "requested": [], "in_reply_to": "m1"}
    ask2 = {"message_id": "m3", "direction": "behoerde", "requested": [{"title": "B"}], "in_reply_to": ""}
    assert open_request([ask1, plain]) is ask1
    assert open_request([ask1, plain, answer1]) is None
    assert open_request([ask1, answer1, ask2]) is ask2
    assert open_request([]) is None
