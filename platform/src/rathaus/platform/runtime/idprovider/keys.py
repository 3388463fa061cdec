"""The test identity provider's secrets, created once per data dir under
``<data_dir>/idprovider`` (0600, never committed): the RS256 signing key of its ID tokens,
the key behind its pseudonyms and the portal's client credentials."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from joserfc.jwk import RSAKey

CLIENT_ID = "rathaus-portal"


def _private_file(path: Path, make: Any) -> Any:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(make()))
        tmp.replace(path)  # a second process racing here writes the same kind of content
    return json.loads(path.read_text())


def signing_key(data_dir: Path) -> RSAKey:
    """The RSA key the ID tokens are signed with (RS256); its public half is the JWKS."""

    def make() -> dict[str, Any]:
        key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, private=True)
        key.ensure_kid()
        return dict(key.as_dict(private=True))

    return RSAKey.import_key(_private_file(data_dir / "idprovider" / "oidc-key.json", make))


def secrets_of(data_dir: Path) -> dict[str, str]:
    """``client_secret`` of the portal and ``pseudonym_key`` of the subjects."""
    return dict(
        _private_file(
            data_dir / "idprovider" / "secrets.json",
            lambda: {
                "client_secret": secrets.token_urlsafe(32),
                "pseudonym_key": secrets.token_urlsafe(32),
            },
        )
    )
