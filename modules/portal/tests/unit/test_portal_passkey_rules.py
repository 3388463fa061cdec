"""Passkey rules without a browser: the relying party from the portal's public URL, names."""

from __future__ import annotations

import pytest

from rathaus.platform.kernel.settings import Settings, WebSettings
from rathaus.portal.handlers.passkeys import MSG_NAME, PasskeyRefused, passkey_name, relying_party


@pytest.mark.parametrize(
    ("web", "expected"),
    [
        (
            WebSettings(public_url="https://portal.muenchen.example"),
            ("portal.muenchen.example", "https://portal.muenchen.example"),
        ),
        (
            WebSettings(public_url="https://portal.example:8443/buerger"),
            ("portal.example", "https://portal.example:8443"),
        ),
        # browsers take no IP address as an RP id: the loopback is "localhost"
        (WebSettings(host="127.0.0.1", port=8000), ("localhost", "http://localhost:8000")),
        (WebSettings(public_url="http://localhost:8123"), ("localhost", "http://localhost:8123")),
    ],
)
def test_the_relying_party_is_the_public_url(web: WebSettings, expected: tuple[str, str]) -> None:
    assert relying_party(Settings(web=web)) == expected


def test_a_passkey_needs_a_short_name() -> None:
    assert passkey_name("  Mein   Laptop ") == "Mein Laptop"
    for bad in ("", "   ", "x" * 61):
        with pytest.raises(PasskeyRefused, match="Namen"):
            passkey_name(bad)
    assert "60 Zeichen" in MSG_NAME
