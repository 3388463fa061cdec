"""Passkeys of local accounts (WebAuthn): register several, log in with one (discoverable,
no e-mail address needed), remove one.

The relying party is the portal's public URL. A challenge is stored here, bound to the
session that asked for it, used once and only for ``CHALLENGE_SECONDS``. User verification
(the device's PIN or biometrics) is required, and the sign counter must grow where the
authenticator keeps one. A passkey login does not change the account's assurance level: it
proves the same person is back, not who that person is.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from rathaus.platform.kernel.mail import portal_url
from rathaus.portal.domain import Account
from rathaus.portal.handlers.base import Base
from rathaus.portal.store import accounts
from rathaus.portal.store_passkeys import passkey_challenges, passkeys

log = logging.getLogger("rathaus.portal.passkeys")
CHALLENGE_SECONDS = 300
MAX_NAME = 60
REGISTRATION, LOGIN = "registrierung", "anmeldung"
MSG_EXPIRED = "Die Anfrage ist abgelaufen oder wurde schon verwendet. Bitte versuchen Sie es noch einmal."
MSG_REGISTRATION_FAILED = "Der Passkey konnte nicht eingerichtet werden. Bitte versuchen Sie es noch einmal."
MSG_LOGIN_FAILED = "Die Anmeldung mit dem Passkey ist fehlgeschlagen. Bitte versuchen Sie es noch einmal."
MSG_UNKNOWN = "Dieser Passkey ist hier nicht (mehr) bekannt. Bitte melden Sie sich mit Ihrem Passwort an."
MSG_NAME = f"Bitte geben Sie dem Passkey einen Namen (höchstens {MAX_NAME} Zeichen)."


class PasskeyRefused(Exception):
    """A ceremony that cannot go on; the message is German and says what to do."""


@dataclass(frozen=True)
class Passkey:
    credential_id: str
    name: str
    created_at: str
    last_used_at: str | None
    backed_up: bool


def relying_party(settings: Any) -> tuple[str, str]:
    """(RP id, origin) from the portal's public URL. Browsers take no IP address as an RP
    id, so a portal on a loopback address is addressed as ``localhost``."""
    url = urlsplit(portal_url(settings))
    host = url.hostname or "localhost"
    if host in ("127.0.0.1", "::1", "0.0.0.0"):  # noqa: S104 - a name for the loopback, not a bind
        host = "localhost"
    return host, f"{url.scheme}://{host}" + (f":{url.port}" if url.port else "")


def passkey_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME:
        raise PasskeyRefused(MSG_NAME)
    return cleaned


class Passkeys(Base):
    async def passkeys_of(self, account_id: str) -> list[Passkey]:
        async with self.kernel.db.read() as s:
            rows = (
                await s.execute(
                    sa.select(passkeys)
                    .where(passkeys.c.account_id == account_id)
                    .order_by(passkeys.c.created_at)
                )
            ).mappings()
            return [
                Passkey(r["credential_id"], r["name"], r["created_at"], r["last_used_at"], r["backed_up"])
                for r in rows
            ]

    async def _new_challenge(self, purpose: str, challenge: bytes, account_id: str | None) -> str:
        now = self.clock()
        challenge_id = str(uuid.uuid4())
        async with self.kernel.db.session() as s:
            await s.execute(
                passkey_challenges.delete().where(passkey_challenges.c.expires_at < now.isoformat())
            )
            await s.execute(
                passkey_challenges.insert().values(
                    challenge_id=challenge_id,
                    purpose=purpose,
                    challenge=challenge,
                    account_id=account_id,
                    expires_at=(now + timedelta(seconds=CHALLENGE_SECONDS)).isoformat(),
                )
            )
        return challenge_id

    async def _take_challenge(self, challenge_id: Any, purpose: str, account_id: str | None) -> bytes:
        """The challenge of a ceremony, gone from the store once taken (used once)."""
        if not isinstance(challenge_id, str):
            raise PasskeyRefused(MSG_EXPIRED)
        async with self.kernel.db.session() as s:
            row = (
                (
                    await s.execute(
                        sa.select(passkey_challenges).where(passkey_challenges.c.challenge_id == challenge_id)
                    )
                )
                .mappings()
                .first()
            )
            taken = await s.execute(
                passkey_challenges.delete().where(passkey_challenges.c.challenge_id == challenge_id)
            )
        if row is None or taken.rowcount != 1:  # type: ignore[attr-defined]
            log.warning("passkey %s refused: unknown or used challenge", purpose)
            raise PasskeyRefused(MSG_EXPIRED)
        if row["purpose"] != purpose or row["account_id"] != account_id:
            log.warning("passkey %s refused: challenge of another ceremony", purpose)
            raise PasskeyRefused(MSG_EXPIRED)
        if row["expires_at"] <= self.clock().isoformat():
            log.warning("passkey %s refused: challenge expired", purpose)
            raise PasskeyRefused(MSG_EXPIRED)
        return bytes(row["challenge"])

    async def start_registration(self, account: Account) -> tuple[str, str]:
        """(challenge id, the options for ``navigator.credentials.create`` as JSON)."""
        rp_id, _ = relying_party(self.kernel.settings)
        known = await self.passkeys_of(account.account_id)
        options = generate_registration_options(
            rp_id=rp_id,
            rp_name="Rathaus Bürgerportal",
            user_name=account.email,
            user_id=account.account_id.encode(),
            user_display_name=f"{account.given_name} {account.family_name}",
            timeout=CHALLENGE_SECONDS * 1000 // 2,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=_bytes(k.credential_id)) for k in known],
        )
        challenge_id = await self._new_challenge(REGISTRATION, options.challenge, account.account_id)
        return challenge_id, options_to_json(options)

    async def finish_registration(
        self, account: Account, challenge_id: Any, credential: Any, name: str
    ) -> Passkey:
        """Check the authenticator's answer and keep the passkey; raises ``PasskeyRefused``."""
        cleaned = passkey_name(name)
        challenge = await self._take_challenge(challenge_id, REGISTRATION, account.account_id)
        rp_id, origin = relying_party(self.kernel.settings)
        try:
            verified = verify_registration_response(
                credential=_json(credential),
                expected_challenge=challenge,
                expected_rp_id=rp_id,
                expected_origin=origin,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError) as refused:
            log.warning("passkey registration refused: %s", refused)
            raise PasskeyRefused(MSG_REGISTRATION_FAILED) from None
        transports = _transports(credential)
        moment = self.clock().isoformat()
        key = Passkey(
            bytes_to_base64url(verified.credential_id), cleaned, moment, None, verified.credential_backed_up
        )
        try:
            async with self.kernel.db.session() as s:
                await s.execute(
                    passkeys.insert().values(
                        credential_id=key.credential_id,
                        account_id=account.account_id,
                        name=cleaned,
                        public_key=verified.credential_public_key,
                        sign_count=verified.sign_count,
                        transports=transports,
                        backed_up=verified.credential_backed_up,
                        created_at=moment,
                    )
                )
        except sa.exc.IntegrityError:
            raise PasskeyRefused("Dieser Passkey ist schon eingerichtet.") from None
        return key

    async def start_passkey_login(self) -> tuple[str, str]:
        """(challenge id, options for ``navigator.credentials.get``): no account named, the
        browser offers the passkeys it has for this portal."""
        rp_id, _ = relying_party(self.kernel.settings)
        options = generate_authentication_options(
            rp_id=rp_id,
            timeout=CHALLENGE_SECONDS * 1000 // 2,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        challenge_id = await self._new_challenge(LOGIN, options.challenge, None)
        return challenge_id, options_to_json(options)

    async def finish_passkey_login(self, challenge_id: Any, credential: Any) -> Account:
        """The account whose passkey answered; raises ``PasskeyRefused``."""
        challenge = await self._take_challenge(challenge_id, LOGIN, None)
        data = _json(credential)
        credential_id = data.get("id") if isinstance(data, dict) else None
        async with self.kernel.db.read() as s:
            row = (
                (await s.execute(sa.select(passkeys).where(passkeys.c.credential_id == str(credential_id))))
                .mappings()
                .first()
            )
        if row is None:
            log.warning("passkey login refused: unknown credential")
            raise PasskeyRefused(MSG_UNKNOWN)
        response = data.get("response")
        handle = response.get("userHandle") if isinstance(response, dict) else None
        if handle and _bytes(handle) != row["account_id"].encode():
            log.warning("passkey login refused: user handle of another account")
            raise PasskeyRefused(MSG_LOGIN_FAILED)
        rp_id, origin = relying_party(self.kernel.settings)
        try:
            verified = verify_authentication_response(
                credential=data,
                expected_challenge=challenge,
                expected_rp_id=rp_id,
                expected_origin=origin,
                credential_public_key=bytes(row["public_key"]),
                credential_current_sign_count=row["sign_count"],
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError) as refused:
            log.warning("passkey login refused: %s", refused)
            raise PasskeyRefused(MSG_LOGIN_FAILED) from None
        async with self.kernel.db.session() as s:
            # the counter only grows: a concurrent login with the same count loses here
            moved = await s.execute(
                passkeys.update()
                .where(
                    passkeys.c.credential_id == row["credential_id"],
                    passkeys.c.sign_count == row["sign_count"],
                )
                .values(sign_count=verified.new_sign_count, last_used_at=self.clock().isoformat())
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                log.warning("passkey login refused: sign counter moved meanwhile")
                raise PasskeyRefused(MSG_LOGIN_FAILED)
            found = (
                (await s.execute(sa.select(accounts).where(accounts.c.account_id == row["account_id"])))
                .mappings()
                .first()
            )
        if found is None:
            raise PasskeyRefused(MSG_UNKNOWN)
        return Account(
            found["account_id"],
            found["email"],
            found["given_name"],
            found["family_name"],
            found["birth_date"],
            found["assurance_level"],
        )

    async def remove_passkey(self, account_id: str, credential_id: str) -> bool:
        """Remove one of the account's passkeys; False when it has no such passkey."""
        async with self.kernel.db.session() as s:
            result = await s.execute(
                passkeys.delete().where(
                    passkeys.c.account_id == account_id, passkeys.c.credential_id == credential_id
                )
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _json(credential: Any) -> Any:
    if isinstance(credential, str):
        try:
            return json.loads(credential)
        except ValueError:
            raise PasskeyRefused(MSG_LOGIN_FAILED) from None
    return credential


def _bytes(value: Any) -> bytes:
    try:
        return base64url_to_bytes(str(value))
    except ValueError:
        raise PasskeyRefused(MSG_LOGIN_FAILED) from None


def _transports(credential: Any) -> list[str]:
    data = _json(credential)
    response = data.get("response") if isinstance(data, dict) else None
    found = response.get("transports") if isinstance(response, dict) else None
    known = {t.value for t in AuthenticatorTransport}
    return [t for t in found if t in known] if isinstance(found, list) else []
