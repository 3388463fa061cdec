"""Organisation accounts (Unternehmenskonten): a business applies through its members.

A member logs in with their own citizen account and acts for the organisations they belong
to. Admins keep the organisation's data and its members; every change is written to the
organisation's audit log (who, what, when; accounts by id, never an e-mail address).

The application form uses three functions of this file:

- ``organisations_of(account)``: the organisations the account may act for ("im Namen von"),
- ``acting_for(account, organisation_id)``: the organisation as the contracts name it, with
  its address, or None unless the account is a member (check it again on submission),
- ``organisation_values(organisation_id)``: the values of the prefill sources
  ``unternehmen.*``.

A submission on behalf of an organisation stores its ``organisation_id`` in ``applications``;
from then on every member sees the application and its Bescheid, and nobody else does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.contracts.common import Address
from rathaus.contracts.common_v2 import Organisation, Party
from rathaus.portal.domain.accounts import Account
from rathaus.portal.domain.organisations import (
    AUDIT_TEXT,
    LABELS,
    MSG_BAD_ROLE,
    MSG_LAST_ADMIN,
    ROLES,
    Membership,
    validate_organisation,
)
from rathaus.portal.handlers.base import Base, now
from rathaus.portal.store import accounts, memberships, organisation_audit, organisations

MSG_NO_ORGANISATION = "Dieses Unternehmenskonto gibt es nicht, oder Sie sind dort nicht Mitglied."
MSG_ADMINS_ONLY = "Das dürfen nur Mitglieder mit der Rolle „Administration“."
MSG_NO_MEMBER = "Diese Person ist nicht Mitglied dieses Unternehmenskontos."


class NotAllowed(PermissionError):
    """The account may not do this here (not a member, or not an admin); a German message."""


class Invalid(ValueError):
    """Input refused: field name -> German message (``"antrag"`` when no field is to blame)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def visible_to(table: sa.Table, account_id: str) -> sa.ColumnElement[bool]:
    """Which rows of ``applications`` or ``postkorb`` an account sees: its own, and those of
    the organisations it is a member of now (never an organisation's through its submitter
    once they have left it)."""
    mine = sa.select(memberships.c.organisation_id).where(memberships.c.account_id == account_id)
    return sa.or_(
        sa.and_(table.c.organisation_id.is_(None), table.c.account_id == account_id),
        table.c.organisation_id.in_(mine),
    )


@dataclass(frozen=True)
class ActingFor:
    """The organisation a member acts for, as the contracts name it, with its address."""

    organisation: Organisation
    address: Address
    role: str  # the acting member's role: "admin" | "member"

    def applicant(self, account: Account) -> Party:
        """The applicant of ``ApplicationSubmitted`` v2: the organisation, through this member."""
        return Party(
            person=account.person,
            organisation=self.organisation,
            address=self.address,
            email=account.email,
            account_id=account.account_id,
        )


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


def _organisation(row: Any) -> ActingFor:
    return ActingFor(
        organisation=Organisation(
            organisation_id=row["organisation_id"],
            name=row["name"],
            legal_form=row["legal_form"],
            register_number=row["register_number"],
        ),
        address=Address(
            street=row["street"],
            house_number=row["house_number"],
            postal_code=row["postal_code"],
            city=row["city"],
        ),
        role=row["role"],
    )


async def role_of(s: AsyncSession, organisation_id: str, account_id: str) -> str | None:
    return (
        await s.execute(
            sa.select(memberships.c.role).where(
                memberships.c.organisation_id == organisation_id, memberships.c.account_id == account_id
            )
        )
    ).scalar()


async def lock(s: AsyncSession, organisation_id: str) -> None:
    """Lock the organisation's row for this transaction (PostgreSQL; SQLite has one writer
    anyway), so that two admins changing the members at once cannot leave it without one."""
    await s.execute(
        sa.select(organisations.c.organisation_id)
        .where(organisations.c.organisation_id == organisation_id)
        .with_for_update()
    )


async def require_admin(s: AsyncSession, organisation_id: str, account: Account) -> None:
    """Raises ``NotAllowed`` unless the account is an admin of the organisation (locked)."""
    await lock(s, organisation_id)
    role = await role_of(s, organisation_id, account.account_id)
    if role is None:
        raise NotAllowed(MSG_NO_ORGANISATION)
    if role != "admin":
        raise NotAllowed(MSG_ADMINS_ONLY)


async def audit(
    s: AsyncSession,
    organisation_id: str,
    actor: str,
    action: str,
    subject: str | None = None,
    detail: str = "",
) -> None:
    assert action in AUDIT_TEXT
    await s.execute(
        organisation_audit.insert().values(
            organisation_id=organisation_id,
            at=now(),
            actor=actor,
            action=action,
            subject=subject,
            detail=detail[:200],
        )
    )


def concerns(entry: Any) -> str:
    """Whom an audit entry concerns: a member by name, an invitation as such (not its address)."""
    if entry["subject_given"]:
        return f"{entry['subject_given']} {entry['subject_family']}"
    if entry["subject"] and entry["action"] in ("eingeladen", "einladung_erneut", "einladung_zurueckgezogen"):
        return "eine Einladung"
    return "ein ehemaliges Konto" if entry["subject"] else ""


class Organisations(Base):
    # -- for the application form ---------------------------------------------------------------

    async def organisations_of(self, account: Account) -> list[Membership]:
        """The organisations this account may act for, with its role in each, by name."""
        async with self.kernel.db.read() as s:
            rows = (
                await s.execute(
                    sa.select(organisations.c.organisation_id, organisations.c.name, memberships.c.role)
                    .join(memberships, memberships.c.organisation_id == organisations.c.organisation_id)
                    .where(memberships.c.account_id == account.account_id)
                    .order_by(organisations.c.name, organisations.c.organisation_id)
                )
            ).all()
        return [Membership(r.organisation_id, r.name, r.role) for r in rows]

    async def acting_for(self, account: Account, organisation_id: str) -> ActingFor | None:
        """The organisation (contracts' ``Organisation``) and its address when the account is a
        member of it now; None otherwise. The submission checks "im Namen von" with it."""
        async with self.kernel.db.read() as s:
            row = (
                (
                    await s.execute(
                        sa.select(organisations, memberships.c.role)
                        .join(memberships, memberships.c.organisation_id == organisations.c.organisation_id)
                        .where(
                            organisations.c.organisation_id == organisation_id,
                            memberships.c.account_id == account.account_id,
                        )
                    )
                )
                .mappings()
                .first()
            )
        return _organisation(row) if row is not None else None

    async def organisation_values(self, organisation_id: str) -> dict[str, list[str]]:
        """The prefill sources ``unternehmen.name|rechtsform|registernummer|strasse|hausnummer|
        postleitzahl|ort`` of an organisation (empty for an unknown one; an unregistered
        business has no ``registernummer``). Call it only after ``acting_for`` said yes."""
        async with self.kernel.db.read() as s:
            row = (
                (
                    await s.execute(
                        sa.select(organisations).where(organisations.c.organisation_id == organisation_id)
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return {}
        sources = {
            "unternehmen.name": row["name"],
            "unternehmen.rechtsform": row["legal_form"],
            "unternehmen.registernummer": row["register_number"],
            "unternehmen.strasse": row["street"],
            "unternehmen.hausnummer": row["house_number"],
            "unternehmen.postleitzahl": row["postal_code"],
            "unternehmen.ort": row["city"],
        }
        return {source: [value] for source, value in sources.items() if value}

    # -- the organisation account ---------------------------------------------------------------

    async def create_organisation(self, account: Account, data: dict[str, str]) -> str:
        """A new organisation account with this account as its admin; raises ``Invalid``."""
        values, errors = validate_organisation(data)
        if errors:
            raise Invalid(errors)
        organisation_id, moment = str(uuid.uuid4()), now()
        async with self.kernel.db.session() as s:
            await s.execute(
                organisations.insert().values(
                    organisation_id=organisation_id, created_at=moment, updated_at=moment, **values
                )
            )
            await s.execute(
                memberships.insert().values(
                    organisation_id=organisation_id, account_id=account.account_id, role="admin", since=moment
                )
            )
            await audit(s, organisation_id, account.account_id, "angelegt")
        return organisation_id

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

    async def update_organisation(self, account: Account, organisation_id: str, data: dict[str, str]) -> None:
        """Change the organisation's data (admins); raises ``NotAllowed`` or ``Invalid``."""
        values, errors = validate_organisation(data)
        async with self.kernel.db.session() as s:
            await require_admin(s, organisation_id, account)
            if errors:
                raise Invalid(errors)
            before = (
                (
                    await s.execute(
                        sa.select(organisations).where(organisations.c.organisation_id == organisation_id)
                    )
                )
                .mappings()
                .one()
            )
            changed = [LABELS[name] for name in LABELS if before[name] != values[name]]
            if not changed:
                return
            await s.execute(
                organisations.update()
                .where(organisations.c.organisation_id == organisation_id)
                .values(updated_at=now(), **values)
            )
            await audit(s, organisation_id, account.account_id, "daten_geaendert", detail=", ".join(changed))

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
