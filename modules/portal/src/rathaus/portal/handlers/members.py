"""The members of an organisation account: what a member sees of it, and what its admins
change (roles, removal; never the last admin). Every change goes to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.portal.domain.accounts import Account
from rathaus.portal.domain.organisations import AUDIT_TEXT, LABELS, MSG_BAD_ROLE, MSG_LAST_ADMIN, ROLES
from rathaus.portal.handlers.base import Base
from rathaus.portal.handlers.organisations import (
    MSG_NO_ORGANISATION,
    Invalid,
    NotAllowed,
    audit,
    lock,
    require_admin,
    role_of,
)
from rathaus.portal.store import accounts, memberships, organisation_audit, organisations

MSG_NO_MEMBER = "Diese Person ist nicht Mitglied dieses Unternehmenskontos."


@dataclass(frozen=True)
class Member:
    account_id: str
    given_name: str
    family_name: str
    email: str
    role: str
    since: str

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def role_name(self) -> str:
        return ROLES[self.role]


@dataclass(frozen=True)
class AuditEntry:
    at: str
    actor: str  # the acting member's name ("ehemaliges Konto" when it is gone)
    action: str  # in German
    concerns: str  # the member concerned, or ""
    detail: str


@dataclass(frozen=True)
class OrganisationPage:
    """What a member sees of an organisation (admins also its open invitations)."""

    organisation_id: str
    data: dict[str, str]  # the fields of the data form
    role: str  # the viewing member's
    members: list[Member]
    audit: list[AuditEntry]

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    @property
    def admins(self) -> int:
        return sum(1 for m in self.members if m.role == "admin")


def concerns(entry: Any) -> str:
    """Whom an audit entry concerns: a member by name, an invitation as such (not its address)."""
    if entry["subject_given"]:
        return f"{entry['subject_given']} {entry['subject_family']}"
    if entry["subject"] and entry["action"] in ("eingeladen", "einladung_erneut", "einladung_zurueckgezogen"):
        return "eine Einladung"
    return "ein ehemaliges Konto" if entry["subject"] else ""


class Members(Base):
    async def organisation_page(self, account: Account, organisation_id: str) -> OrganisationPage | None:
        """The organisation's data, members and audit log; None unless the account is a member."""
        actor, subject = accounts.alias("actor"), accounts.alias("subject")
        async with self.kernel.db.read() as s:
            role = await role_of(s, organisation_id, account.account_id)
            if role is None:
                return None
            row = (
                (
                    await s.execute(
                        sa.select(organisations).where(organisations.c.organisation_id == organisation_id)
                    )
                )
                .mappings()
                .one()
            )
            members = (
                await s.execute(
                    sa.select(
                        accounts.c.account_id,
                        accounts.c.given_name,
                        accounts.c.family_name,
                        accounts.c.email,
                        memberships.c.role,
                        memberships.c.since,
                    )
                    .join(memberships, memberships.c.account_id == accounts.c.account_id)
                    .where(memberships.c.organisation_id == organisation_id)
                    .order_by(accounts.c.family_name, accounts.c.given_name, accounts.c.account_id)
                )
            ).all()
            log = (
                await s.execute(
                    sa.select(
                        organisation_audit,
                        actor.c.given_name.label("actor_given"),
                        actor.c.family_name.label("actor_family"),
                        subject.c.given_name.label("subject_given"),
                        subject.c.family_name.label("subject_family"),
                    )
                    .outerjoin(actor, actor.c.account_id == organisation_audit.c.actor)
                    .outerjoin(subject, subject.c.account_id == organisation_audit.c.subject)
                    .where(organisation_audit.c.organisation_id == organisation_id)
                    .order_by(organisation_audit.c.entry_id.desc())
                    .limit(50)
                )
            ).mappings()
            entries = [
                AuditEntry(
                    at=e["at"],
                    actor=f"{e['actor_given']} {e['actor_family']}"
                    if e["actor_given"]
                    else "ehemaliges Konto",
                    action=AUDIT_TEXT.get(e["action"], e["action"]),
                    concerns=concerns(e),
                    detail=e["detail"],
                )
                for e in log
            ]
        return OrganisationPage(
            organisation_id=organisation_id,
            data={name: row[name] for name in LABELS},
            role=role,
            members=[Member(*m) for m in members],
            audit=entries,
        )

    async def change_role(self, account: Account, organisation_id: str, member_id: str, role: str) -> None:
        """Give a member another role (admins); never takes the last admin's; raises
        ``NotAllowed`` or ``Invalid``."""
        if role not in ROLES:
            raise Invalid({"role": MSG_BAD_ROLE})
        async with self.kernel.db.session() as s:
            await require_admin(s, organisation_id, account)
            current = await role_of(s, organisation_id, member_id)
            if current is None:
                raise Invalid({"antrag": MSG_NO_MEMBER})
            if current == role:
                return
            if current == "admin" and await self._admins(s, organisation_id) <= 1:
                raise Invalid({"antrag": MSG_LAST_ADMIN})
            await s.execute(
                memberships.update()
                .where(
                    memberships.c.organisation_id == organisation_id, memberships.c.account_id == member_id
                )
                .values(role=role)
            )
            await audit(
                s,
                organisation_id,
                account.account_id,
                "rolle_geaendert",
                member_id,
                f"{ROLES[current]} → {ROLES[role]}",
            )

    async def remove_member(self, account: Account, organisation_id: str, member_id: str) -> None:
        """End a membership: an admin removes a member, or a member leaves; never the last
        admin. Raises ``NotAllowed`` or ``Invalid``."""
        async with self.kernel.db.session() as s:
            leaving = member_id == account.account_id
            if leaving:
                await lock(s, organisation_id)
            else:
                await require_admin(s, organisation_id, account)
            current = await role_of(s, organisation_id, member_id)
            if current is None:
                raise NotAllowed(MSG_NO_ORGANISATION) if leaving else Invalid({"antrag": MSG_NO_MEMBER})
            if current == "admin" and await self._admins(s, organisation_id) <= 1:
                raise Invalid({"antrag": MSG_LAST_ADMIN})
            await s.execute(
                memberships.delete().where(
                    memberships.c.organisation_id == organisation_id, memberships.c.account_id == member_id
                )
            )
            action = "ausgetreten" if leaving else "mitglied_entfernt"
            await audit(s, organisation_id, account.account_id, action, member_id, ROLES[current])

    async def _admins(self, s: AsyncSession, organisation_id: str) -> int:
        return int(
            (
                await s.execute(
                    sa.select(sa.func.count())
                    .select_from(memberships)
                    .where(memberships.c.organisation_id == organisation_id, memberships.c.role == "admin")
                )
            ).scalar_one()
        )
