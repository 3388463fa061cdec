"""Accounts of citizens: registration, login with throttling, identity verification."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from rathaus.platform.kernel.passwords import hash_password, verify_password
from rathaus.portal.domain import (
    ASSURANCE_ORDER,
    EMAIL,
    MIN_PASSWORD,
    MSG_LOGIN_FAILED,
    Account,
    lock_after_failure,
    lock_message,
)
from rathaus.portal.handlers.base import Base, now
from rathaus.portal.handlers.organisations import visible_to
from rathaus.portal.store import accounts, login_failures, postkorb
from rathaus.portal.store_postkorb import nachrichten


def email_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _account(row: Any) -> Account:
    return Account(
        row["account_id"],
        row["email"],
        row["given_name"],
        row["family_name"],
        row["birth_date"],
        row["assurance_level"],
    )


class Accounts(Base):
    async def register(
        self,
        *,
        email: str,
        password: str,
        given_name: str,
        family_name: str,
        birth_date: str,
        assurance_level: str = "niedrig",
    ) -> str:
        """Create an account; raises ``ValueError`` with a German message."""
        email = email.strip().lower()
        if not EMAIL.fullmatch(email):
            raise ValueError("Bitte geben Sie eine gültige E-Mail-Adresse an.")
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"Das Passwort muss mindestens {MIN_PASSWORD} Zeichen lang sein.")
        if assurance_level not in ASSURANCE_ORDER:
            raise ValueError(f"Unbekanntes Vertrauensniveau {assurance_level!r}.")
        account_id = str(uuid.uuid4())
        password_hash = await hash_password(password)
        try:
            async with self.kernel.db.session() as s:
                await s.execute(
                    accounts.insert().values(
                        account_id=account_id,
                        email=email,
                        password_hash=password_hash,
                        given_name=" ".join(given_name.split()),
                        family_name=" ".join(family_name.split()),
                        birth_date=birth_date.strip(),
                        assurance_level=assurance_level,
                        created_at=now(),
                    )
                )
        except IntegrityError:
            raise ValueError("Mit dieser E-Mail-Adresse gibt es schon ein Konto.") from None
        return account_id

    async def login(self, email: str, password: str) -> tuple[Account | None, str]:
        """(account, "") or (None, the German message). Locks after repeated failures.

        Failures are counted per e-mail address whether or not it has an account, and the
        message never says which of address or password was wrong.
        """
        key, moment = email_hash(email), datetime.now(UTC)
        async with self.kernel.db.session() as s:
            locked = (
                await s.execute(
                    sa.select(login_failures.c.locked_until).where(login_failures.c.email_hash == key)
                )
            ).scalar()
            row = (
                (await s.execute(sa.select(accounts).where(accounts.c.email == email.strip().lower())))
                .mappings()
                .first()
            )
        if locked and datetime.fromisoformat(locked) > moment:
            return None, lock_message(datetime.fromisoformat(locked))
        ok = await verify_password(row["password_hash"] if row else None, password)
        if ok and row is not None:
            async with self.kernel.db.session() as s:
                await s.execute(login_failures.delete().where(login_failures.c.email_hash == key))
            return _account(row), ""
        until = await self._count_failure(key, moment)
        return None, lock_message(until) if until else MSG_LOGIN_FAILED

    async def _count_failure(self, key: str, moment: datetime) -> datetime | None:
        try:
            async with self.kernel.db.session() as s:
                failures = (
                    await s.execute(
                        sa.select(login_failures.c.failures).where(login_failures.c.email_hash == key)
                    )
                ).scalar()
                count = (failures or 0) + 1
                until = lock_after_failure(count, moment)
                values = {
                    "failures": count,
                    "locked_until": until.isoformat() if until else None,
                    "last_failure_at": moment.isoformat(),
                }
                if failures is None:
                    await s.execute(login_failures.insert().values(email_hash=key, **values))
                else:
                    await s.execute(
                        login_failures.update().where(login_failures.c.email_hash == key).values(**values)
                    )
        except IntegrityError:  # a concurrent first failure of the same address: counted there
            return None
        return until

    async def account(self, account_id: str) -> Account | None:
        async with self.kernel.db.session() as s:
            row = (
                (await s.execute(sa.select(accounts).where(accounts.c.account_id == account_id)))
                .mappings()
                .first()
            )
        return _account(row) if row is not None else None

    async def account_and_unread(self, account_id: str) -> tuple[Account | None, int]:
        """The account of a session and its number of unread Postkorb entries (Bescheide and
        messages), its organisations' included (for the navigation)."""
        async with self.kernel.db.read() as s:
            row = (
                (await s.execute(sa.select(accounts).where(accounts.c.account_id == account_id)))
                .mappings()
                .first()
            )
            if row is None:
                return None, 0
            # unread Bescheide and unread messages of the authority, in one statement
            unread = (
                await s.execute(
                    sa.select(
                        sa.select(sa.func.count())
                        .select_from(postkorb)
                        .where(visible_to(postkorb, account_id), postkorb.c.read.is_(False))
                        .scalar_subquery()
                        + sa.select(sa.func.count())
                        .select_from(nachrichten)
                        .where(visible_to(nachrichten, account_id), nachrichten.c.read.is_(False))
                        .scalar_subquery()
                    )
                )
            ).scalar_one()
        return _account(row), int(unread)

    async def verify_identity(self, email: str, assurance_level: str) -> None:
        """The Bürgerbüro (or the online ID) has checked the citizen's identity."""
        if assurance_level not in ASSURANCE_ORDER:
            raise ValueError(f"Unbekanntes Vertrauensniveau {assurance_level!r}.")
        async with self.kernel.db.session() as s:
            result = await s.execute(
                accounts.update()
                .where(accounts.c.email == email.strip().lower())
                .values(assurance_level=assurance_level)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise ValueError(f"Es gibt kein Konto mit der E-Mail-Adresse {email}.")
