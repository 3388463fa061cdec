"""The portal's tables for passkeys (portal_0007), on the portal's metadata.

A passkey is a WebAuthn credential of a local account: its public key and sign counter,
never a secret. A ceremony's challenge is kept here (not only in the session cookie) so it
can be used once and only until it expires.
"""

from __future__ import annotations

import sqlalchemy as sa

from rathaus.portal.store import metadata

passkeys = sa.Table(
    "passkeys",
    metadata,
    sa.Column("credential_id", sa.String(1400), primary_key=True),  # base64url, as the browser names it
    sa.Column("account_id", sa.String(36), nullable=False, index=True),
    sa.Column("name", sa.String(60), nullable=False),
    sa.Column("public_key", sa.LargeBinary, nullable=False),  # COSE key
    sa.Column("sign_count", sa.Integer, nullable=False),
    sa.Column("transports", sa.JSON, nullable=False),
    sa.Column("backed_up", sa.Boolean, nullable=False),  # a synced passkey
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("last_used_at", sa.String(40)),
)
passkey_challenges = sa.Table(
    "passkey_challenges",
    metadata,
    sa.Column("challenge_id", sa.String(36), primary_key=True),
    sa.Column("purpose", sa.String(16), nullable=False),  # registrierung | anmeldung
    sa.Column("challenge", sa.LargeBinary, nullable=False),
    sa.Column("account_id", sa.String(36)),  # whose registration; None for a login
    sa.Column("expires_at", sa.String(40), nullable=False, index=True),
)
