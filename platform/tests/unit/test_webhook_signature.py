"""The webhook signature and the check integrators copy (README "For integrators")."""

from __future__ import annotations

import json

import pytest

from rathaus.platform.runtime.webhooks import InvalidWebhook, ReplayedWebhook, sign, verify_webhook

SECRET = "whsec_test-secret"
BODY = json.dumps({"specversion": "1.0", "id": "e-1", "type": "de.rathaus.x", "subject": "c-1"}).encode()
T = 1_800_000_000


def test_a_delivery_verifies_and_returns_its_event() -> None:
    header = sign(SECRET, T, BODY)
    assert header.startswith(f"t={T},v1=")
    assert verify_webhook(SECRET, header, BODY, now=T + 10)["id"] == "e-1"


@pytest.mark.parametrize(
    ("secret", "body", "header_time", "now", "message"),
    [
        (SECRET, BODY.replace(b"c-1", b"c-2"), T, T, "does not match"),  # body changed on the way
        ("whsec_other", BODY, T, T, "does not match"),  # not signed with this integrator's secret
        (SECRET, BODY, T, T + 301, "tolerance"),  # a recorded delivery sent again later
        (SECRET, BODY, T + 400, T, "tolerance"),  # a timestamp from the future
    ],
)
def test_forged_tampered_and_old_deliveries_are_refused(
    secret: str, body: bytes, header_time: int, now: int, message: str
) -> None:
    header = sign(secret, header_time, BODY)
    with pytest.raises(InvalidWebhook, match=message):
        verify_webhook(SECRET, header, body, now=now)


def test_the_timestamp_cannot_be_moved_without_breaking_the_signature() -> None:
    """A replay with a fresh ``t`` but the old signature fails: ``t`` is signed too."""
    old = sign(SECRET, T, BODY)
    moved = old.replace(f"t={T}", f"t={T + 3600}")
    with pytest.raises(InvalidWebhook, match="does not match"):
        verify_webhook(SECRET, moved, BODY, now=T + 3600)


def test_a_replay_within_the_window_is_known_by_its_event_id() -> None:
    seen: set[str] = set()
    header = sign(SECRET, T, BODY)
    verify_webhook(SECRET, header, BODY, seen=seen, now=T)
    with pytest.raises(ReplayedWebhook):
        verify_webhook(SECRET, header, BODY, seen=seen, now=T + 1)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=soon,v1=abc", f"t={T}"])
def test_a_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(InvalidWebhook):
        verify_webhook(SECRET, header, BODY, now=T)


def test_a_second_signature_is_accepted_during_a_key_rotation() -> None:
    header = sign("whsec_old", T, BODY) + "," + sign(SECRET, T, BODY).split(",")[1]
    assert verify_webhook(SECRET, header, BODY, now=T)["id"] == "e-1"
