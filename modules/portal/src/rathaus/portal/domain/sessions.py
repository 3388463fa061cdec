"""Rules of a login session: how long it lasts at its assurance level (idle and absolute
timeouts, as BundID form services require), when the warning comes, how it was logged in.

A session's level is the level of its current login. The times are kept in the signed
session cookie as seconds since the epoch; the server judges them on every request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from rathaus.platform.kernel.settings import SessionSettings, SessionTimeouts

# keys in the session cookie
ACCOUNT_ID = "account_id"
LEVEL = "level"
AMR = "amr"  # how the login was made, RFC 8176 values: ["pwd"] or ["pop", "mfa"] (a passkey)
LOGIN_AT = "login_at"
SEEN_AT = "seen_at"
EXPIRED = "abgelaufen"  # set when a session ran out: the login page says why
# "method" and "provider": how an identity provider says the person logged in, and which
LOGIN_KEYS = (ACCOUNT_ID, LEVEL, AMR, LOGIN_AT, SEEN_AT, "method", "provider")

AMR_PASSWORD = ("pwd",)
AMR_PASSKEY = ("pop", "mfa")  # a passkey with user verification: the device and a PIN or biometrics
LEVEL_LABEL = {"niedrig": "basis", "substantiell": "substantiell", "hoch": "hoch"}
Expiry = Literal["inaktiv", "absolut"]
EXPIRED_TEXT: dict[str, str] = {
    "inaktiv": "Sie wurden wegen Inaktivität abgemeldet. Bitte melden Sie sich erneut an. "
    "Gespeicherte Antragsentwürfe bleiben erhalten.",
    "absolut": "Ihre Sitzung hat die längste erlaubte Dauer erreicht; Sie wurden abgemeldet. "
    "Bitte melden Sie sich erneut an. Gespeicherte Antragsentwürfe bleiben erhalten.",
}


def timeouts_for(settings: SessionSettings, level: str) -> SessionTimeouts:
    """The timeouts of a level; an unknown level gets the strictest ones."""
    found = getattr(settings, level, None) if level in LEVEL_LABEL else None
    return found if isinstance(found, SessionTimeouts) else settings.hoch


def method_text(amr: tuple[str, ...]) -> str:
    if "mfa" in amr:
        return "Passkey (zwei Faktoren: Ihr Gerät und seine PIN oder Biometrie)"
    if "pwd" in amr:
        return "Passwort"
    return ", ".join(amr) or "unbekannt"  # another method (an identity provider's) by its name


@dataclass(frozen=True)
class Login:
    """A session's login, read from the cookie."""

    account_id: str
    level: str
    amr: tuple[str, ...]
    login_at: datetime
    seen_at: datetime

    def idle_ends(self, timeouts: SessionTimeouts) -> datetime:
        return self.seen_at + timedelta(seconds=timeouts.idle_seconds)

    def absolute_ends(self, timeouts: SessionTimeouts) -> datetime:
        return self.login_at + timedelta(seconds=timeouts.absolute_seconds)

    def expiry(self, timeouts: SessionTimeouts, now: datetime) -> Expiry | None:
        """Why the session has ended at ``now``, or None while it lasts. The absolute limit
        wins when both have passed: it is the one that no activity could have avoided."""
        if now >= self.absolute_ends(timeouts):
            return "absolut"
        if now >= self.idle_ends(timeouts):
            return "inaktiv"
        return None

    def ends(self, timeouts: SessionTimeouts) -> datetime:
        return min(self.idle_ends(timeouts), self.absolute_ends(timeouts))

    def extendable(self, timeouts: SessionTimeouts) -> bool:
        """Does activity still move the end? Not once the absolute limit comes first."""
        return self.idle_ends(timeouts) < self.absolute_ends(timeouts)

    def touched(self, now: datetime) -> Login:
        return Login(self.account_id, self.level, self.amr, self.login_at, now)

    def cookie(self) -> dict[str, Any]:
        return {
            ACCOUNT_ID: self.account_id,
            LEVEL: self.level,
            AMR: list(self.amr),
            LOGIN_AT: self.login_at.timestamp(),
            SEEN_AT: self.seen_at.timestamp(),
        }


def warn_before(settings: SessionSettings, timeouts: SessionTimeouts) -> int:
    """Seconds before the end at which the warning appears (at most half the idle time, so a
    short idle timeout still leaves time to work)."""
    return min(settings.warn_seconds, timeouts.idle_seconds // 2)


def read_login(session: Mapping[str, Any] | None, default_level: str, now: datetime) -> Login | None:
    """The login in a session cookie, or None when nobody is logged in. A cookie from before
    the timeouts (an account id without times) counts as a login at ``now`` at the account's
    level ``default_level``: the cookie is signed, so it was the server that set it."""
    if not session:
        return None
    account_id = session.get(ACCOUNT_ID)
    if not isinstance(account_id, str):
        return None
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    level = session.get(LEVEL)
    amr = session.get(AMR)
    return Login(
        account_id,
        level if isinstance(level, str) else default_level,
        tuple(str(a) for a in amr) if isinstance(amr, list) else (),
        _moment(login_at, now),
        _moment(seen_at, now),
    )


def _moment(value: Any, default: datetime) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return default


def without_login(session: Mapping[str, Any] | None) -> dict[str, Any]:
    """What stays of a session when the login ends (an anonymous draft's key, holds)."""
    return {k: v for k, v in (session or {}).items() if k not in LOGIN_KEYS}
