"""Invitations into an organisation account: an admin invites an e-mail address; the link in
the e-mail works once, for seven days, and only for an account with that address.

Only a hash of the token is stored: sending an invitation again makes a new token (the old
link stops working). When the mail server cannot be reached the invitation is kept and marked
unsent; an admin sends it again from the members page.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from rathaus.platform.kernel.mail import message, portal_url, send
from rathaus.portal import PREFIX
from rathaus.portal.domain.accounts import Account
from rathaus.portal.domain.catalogue import format_datetime
from rathaus.portal.domain.organisations import (
    MSG_ALREADY_INVITED,
    MSG_ALREADY_MEMBER,
    ROLES,
    invitation_expires,
    invitation_state,
    validate_invitation,
)
from rathaus.portal.handlers.base import Base, now
from rathaus.portal.handlers.organisations import Invalid, NotAllowed, audit, lock, require_admin, role_of
from rathaus.portal.store import accounts, invitations, memberships, organisations

log = logging.getLogger("rathaus.portal.invitations")
SUBJECT = "Einladung zu einem Unternehmenskonto im Bürgerportal"
MSG_NO_INVITATION = "Diese Einladung gibt es nicht."


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A token of 256 random bits for the link, and the hash that is stored of it."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


@dataclass(frozen=True)
class OpenInvitation:
    """An invitation not yet answered, as admins see it."""

    invitation_id: str
    email: str
    role: str
    state: str  # offen | abgelaufen
    mail_sent: bool
    expires_at: str

    @property
    def role_name(self) -> str:
        return ROLES[self.role]


@dataclass(frozen=True)
class Invited:
    invitation_id: str
    mailed: bool  # False: kept, but the e-mail could not be sent yet


@dataclass(frozen=True)
class InvitationLink:
    """What the link of an invitation leads to, for the account that opened it."""

    state: str  # offen | abgelaufen | angenommen | abgelehnt | zurueckgezogen
    organisation_id: str
    organisation_name: str
    role: str
    for_this_account: bool  # the account has the invited address (False without an account)
    already_member: bool
    answered_now: bool = False  # this call accepted or declined it

    @property
    def role_name(self) -> str:
        return ROLES[self.role]


class Invitations(Base):
    async def invite(self, account: Account, organisation_id: str, email: str, role: str) -> Invited:
        """Invite an address into the organisation (admins) and send the link; raises
        ``NotAllowed`` or ``Invalid`` (also for a member's address, or one already invited)."""
        address, errors = validate_invitation(email, role)
        token, hashed = new_token()
        invitation_id, moment = str(uuid.uuid4()), datetime.now(UTC)
        async with self.kernel.db.session() as s:
            await require_admin(s, organisation_id, account)
            if errors:
                raise Invalid(errors)
            member = (
                await s.execute(
                    sa.select(memberships.c.account_id)
                    .join(accounts, accounts.c.account_id == memberships.c.account_id)
                    .where(memberships.c.organisation_id == organisation_id, accounts.c.email == address)
                )
            ).first()
            if member is not None:
                raise Invalid({"email": MSG_ALREADY_MEMBER})
            pending = (
                await s.execute(
                    sa.select(invitations.c.expires_at).where(
                        invitations.c.organisation_id == organisation_id,
                        invitations.c.email == address,
                        invitations.c.status == "offen",
                    )
                )
            ).scalars()
            if any(invitation_state("offen", expires, moment) == "offen" for expires in pending):
                raise Invalid({"email": MSG_ALREADY_INVITED})
            await s.execute(
                invitations.insert().values(
                    invitation_id=invitation_id,
                    organisation_id=organisation_id,
                    token_hash=hashed,
                    email=address,
                    role=role,
                    invited_by=account.account_id,
                    status="offen",
                    mail_sent=False,
                    sent_at=moment.isoformat(),
                    expires_at=invitation_expires(moment).isoformat(),
                    created_at=moment.isoformat(),
                )
            )
            # the log names the invitation, not the address: it may belong to no member
            await audit(s, organisation_id, account.account_id, "eingeladen", invitation_id, ROLES[role])
            name = await self._name(s, organisation_id)
        mailed = await self._mail(
            invitation_id, address, name, role, account, token, invitation_expires(moment)
        )
        return Invited(invitation_id, mailed)

    async def resend_invitation(self, account: Account, organisation_id: str, invitation_id: str) -> bool:
        """Send an open (or expired) invitation again with a new link, valid seven days from
        now (admins); the old link stops working. True when the e-mail went out."""
        token, hashed = new_token()
        moment = datetime.now(UTC)
        async with self.kernel.db.session() as s:
            await require_admin(s, organisation_id, account)
            row = await self._open(s, organisation_id, invitation_id)
            await s.execute(
                invitations.update()
                .where(invitations.c.invitation_id == invitation_id)
                .values(
                    token_hash=hashed,
                    sent_at=moment.isoformat(),
                    expires_at=invitation_expires(moment).isoformat(),
                )
            )
            await audit(
                s, organisation_id, account.account_id, "einladung_erneut", invitation_id, ROLES[row["role"]]
            )
            name = await self._name(s, organisation_id)
        return await self._mail(
            invitation_id, row["email"], name, row["role"], account, token, invitation_expires(moment)
        )

    async def withdraw_invitation(self, account: Account, organisation_id: str, invitation_id: str) -> None:
        """Withdraw an invitation not yet answered (admins): its link stops working."""
        async with self.kernel.db.session() as s:
            await require_admin(s, organisation_id, account)
            row = await self._open(s, organisation_id, invitation_id)
            await s.execute(
                invitations.update()
                .where(invitations.c.invitation_id == invitation_id)
                .values(status="zurueckgezogen", answered_at=now(), answered_by=account.account_id)
            )
            await audit(
                s,
                organisation_id,
                account.account_id,
                "einladung_zurueckgezogen",
                invitation_id,
                ROLES[row["role"]],
            )

    async def open_invitations(self, account: Account, organisation_id: str) -> list[OpenInvitation]:
        """The invitations not yet answered, for an admin (empty for anyone else)."""
        moment = datetime.now(UTC)
        async with self.kernel.db.read() as s:
            if await role_of(s, organisation_id, account.account_id) != "admin":
                return []
            rows = (
                (
                    await s.execute(
                        sa.select(invitations)
                        .where(
                            invitations.c.organisation_id == organisation_id, invitations.c.status == "offen"
                        )
                        .order_by(invitations.c.created_at)
                    )
                )
                .mappings()
                .all()
            )
        return [
            OpenInvitation(
                r["invitation_id"],
                r["email"],
                r["role"],
                invitation_state(r["status"], r["expires_at"], moment),
                r["mail_sent"],
                r["expires_at"],
            )
            for r in rows
        ]

    async def invitation(self, token: str, account: Account | None) -> InvitationLink | None:
        """What an invitation link leads to (None for an unknown token)."""
        async with self.kernel.db.read() as s:
            row = await self._by_token(s, token)
            if row is None:
                return None
            member = (
                account is not None
                and await role_of(s, row["organisation_id"], account.account_id) is not None
            )
        return self._link(row, account, member)

    async def answer_invitation(self, account: Account, token: str, accept: bool) -> InvitationLink | None:
        """Accept (become a member with the invited role) or decline an open invitation for the
        account's own address. Returns the link's state afterwards (``answered_now`` when this
        call answered it); None for an unknown token. Nothing changes unless the invitation is
        open and for this account."""
        async with self.kernel.db.session() as s:
            row = await self._by_token(s, token)
            if row is None:
                return None
            organisation_id = row["organisation_id"]
            # two answers at once (a double click, two tabs): the second waits, then sees it used
            await lock(s, organisation_id)
            row = await self._by_token(s, token)
            member = await role_of(s, organisation_id, account.account_id) is not None
            link = self._link(row, account, member)
            if link.state != "offen" or not link.for_this_account:
                return link
            moment = now()
            accepted = accept and not member
            if accepted:
                await s.execute(
                    memberships.insert().values(
                        organisation_id=organisation_id,
                        account_id=account.account_id,
                        role=row["role"],
                        since=moment,
                    )
                )
            status = "angenommen" if accept else "abgelehnt"
            await s.execute(
                invitations.update()
                .where(invitations.c.invitation_id == row["invitation_id"])
                .values(status=status, answered_at=moment, answered_by=account.account_id)
            )
            action = "einladung_angenommen" if accept else "einladung_abgelehnt"
            detail = ROLES[row["role"]] if accepted else ("bereits Mitglied" if member else "")
            await audit(s, organisation_id, account.account_id, action, account.account_id, detail)
        return replace(self._link({**row, "status": status}, account, member or accepted), answered_now=True)

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _link(row: Any, account: Account | None, member: bool) -> InvitationLink:
        return InvitationLink(
            state=invitation_state(row["status"], row["expires_at"], datetime.now(UTC)),
            organisation_id=row["organisation_id"],
            organisation_name=row["name"],
            role=row["role"],
            for_this_account=account is not None and account.email == row["email"],
            already_member=member,
        )

    @staticmethod
    async def _by_token(s: Any, token: str) -> Any:
        return (
            (
                await s.execute(
                    sa.select(invitations, organisations.c.name)
                    .join(organisations, organisations.c.organisation_id == invitations.c.organisation_id)
                    .where(invitations.c.token_hash == token_hash(token))
                )
            )
            .mappings()
            .first()
        )

    @staticmethod
    async def _open(s: Any, organisation_id: str, invitation_id: str) -> Any:
        row = (
            (
                await s.execute(
                    sa.select(invitations).where(
                        invitations.c.invitation_id == invitation_id,
                        invitations.c.organisation_id == organisation_id,
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotAllowed(MSG_NO_INVITATION)
        if row["status"] != "offen":
            raise Invalid({"antrag": "Diese Einladung wurde schon beantwortet oder zurückgezogen."})
        return row

    @staticmethod
    async def _name(s: Any, organisation_id: str) -> str:
        return str(
            (
                await s.execute(
                    sa.select(organisations.c.name).where(organisations.c.organisation_id == organisation_id)
                )
            ).scalar_one()
        )

    async def _mail(
        self,
        invitation_id: str,
        to: str,
        organisation: str,
        role: str,
        inviter: Account,
        token: str,
        expires: datetime,
    ) -> bool:
        """Send the invitation's e-mail and note whether it went out (never raises)."""
        settings = self.kernel.settings
        link = f"{portal_url(settings)}{PREFIX}/konto/einladungen/{token}"
        body = (
            "Guten Tag,\n\n"
            f"{inviter.given_name} {inviter.family_name} lädt Sie ein, im Bürgerportal der Stadt für "
            f"„{organisation}“ zu handeln (Rolle: {ROLES[role]}).\n\n"
            f"Bitte öffnen Sie diesen Link und melden Sie sich mit dieser E-Mail-Adresse an "
            f"oder legen Sie mit ihr ein Konto an:\n{link}\n\n"
            f"Der Link gilt bis {format_datetime(expires.isoformat())} und nur einmal.\n\n"
            "Wenn Sie diese Einladung nicht erwartet haben, können Sie diese E-Mail ignorieren.\n\n"
            "Mit freundlichen Grüßen\nIhre Stadtverwaltung\n"
        )
        try:
            await send(settings, message(settings, to, SUBJECT, body))
        except Exception as exc:  # the mail server may be down: kept, sent again from the members page
            log.warning("invitation %s could not be mailed: %s", invitation_id, type(exc).__name__)
            mailed = False
        else:
            mailed = True
        async with self.kernel.db.session() as s:
            await s.execute(
                invitations.update()
                .where(invitations.c.invitation_id == invitation_id)
                .values(mail_sent=mailed)
            )
        return mailed
