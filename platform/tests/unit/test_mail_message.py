"""The kernel's e-mail composition: what a mail reader sees after the trip through SMTP bytes."""

from __future__ import annotations

import email
import email.policy

import pytest

from rathaus.platform.kernel.mail import Attachment, as_smtp_bytes, message
from rathaus.platform.kernel.settings import Settings


def read(raw: bytes) -> email.message.EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


@pytest.mark.parametrize(
    "subject",
    [
        "Ihr Bescheid, Aktenzeichen 523.11-2026-000042",
        "Ihr Termin im Bürgerbüro ist gebucht",
        "Änderung: ihr Termin",
        "Einladung: für „Musterbau GmbH“ im Bürgerportal handeln, ein langer Betreff mit Umlauten äöü ß "
        "und noch etwas mehr Text, damit er gefaltet werden muss",
    ],
)
def test_a_subject_reads_back_as_written_and_leading_ascii_stays_plain(subject: str) -> None:
    settings = Settings()
    settings.smtp.sender = "Landeshauptstadt München <postkorb@muenchen.example>"
    raw = as_smtp_bytes(message(settings, "bürger@example.org", subject, "Text"))
    mail = read(raw)
    assert str(mail["Subject"]) == subject
    assert mail["From"].addresses[0].display_name == "Landeshauptstadt München"
    assert mail["From"].addresses[0].addr_spec == "postkorb@muenchen.example"
    assert raw.isascii()  # no 8-bit header or body on the wire
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))
    assert raw.split(b"\r\n")[0]  # CRLF line ends
    first_word = subject.split(" ")[0]
    if first_word.isascii():
        assert f"Subject: {first_word}".encode() in raw


def test_the_body_and_every_attachment_come_back_byte_for_byte() -> None:
    body = "Guten Tag,\n\nIhr Termin ist gebucht.\nWo: Bürgerbüro Ruppertstraße, " + "sehr lang " * 20 + "\n"
    ics = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nSUMMARY:Termin\r\nEND:VCALENDAR\r\n"
    pdf = bytes(range(256)) * 40
    mail = read(
        as_smtp_bytes(
            message(
                Settings(),
                "a@example.org",
                "Betreff",
                body,
                [
                    Attachment("termin.ics", ics, "text/calendar", {"method": "REQUEST"}),
                    Attachment("Bescheid-1.pdf", pdf, "application/pdf"),
                ],
            )
        )
    )
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None and text.get_content().replace("\r\n", "\n") == body  # CRLF on the wire
    calendar, document = list(mail.iter_attachments())
    assert (calendar.get_filename(), calendar.get_content_type()) == ("termin.ics", "text/calendar")
    assert calendar.get_param("method") == "REQUEST"
    assert calendar.get_payload(decode=True) == ics
    assert (document.get_filename(), document.get_content_type()) == ("Bescheid-1.pdf", "application/pdf")
    assert document.get_payload(decode=True) == pdf


def test_a_mail_without_attachments_is_one_text_part() -> None:
    mail = read(as_smtp_bytes(message(Settings(), "a@example.org", "Betreff", "Grüße")))
    assert mail.get_content_type() == "text/plain" and not mail.is_multipart()
    assert mail.get_content() == "Grüße"
