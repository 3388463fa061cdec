"""Organisation accounts (Unternehmenskonten): a business applies through its members.

A member logs in with their own citizen account and acts for the organisations they belong
to. Admins keep the organisation's data and its members (members.py, invitations.py); every
change is written to the organisation's audit log (who, what, when; accounts by id, never an
e-mail address).

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
    Membership,
    validate_organisation,
)
from rathaus.portal.handlers.base import Base, now
from rathaus.portal.store import memberships, organisation_audit, organisations

MSG_NO_ORGANISATION = "Dieses Unternehmenskonto gibt es nicht, oder Sie sind dort nicht Mitglied."
MSG_ADMINS_ONLY = "Das dürfen nur Mitglieder mit der Rolle „Administration“."


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
