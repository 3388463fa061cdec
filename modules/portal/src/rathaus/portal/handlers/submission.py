"""An application submitted whole, in one request (the JSON API): the same rules as the
form, no draft, no register data."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from rathaus.contracts.procedures import Procedure, all_procedures
from rathaus.platform.kernel.telemetry import case_context
from rathaus.portal.domain import (
    ADDRESS_FIELDS,
    Account,
    check_upload,
    clean,
    missing_evidence,
    safe_filename,
    validate_step,
)
from rathaus.portal.handlers.forms import Forms
from rathaus.portal.store import applications

log = logging.getLogger("rathaus.portal")

MSG_NOT_ONLINE = "Diese Leistung kann hier nicht online beantragt werden."
MSG_UNKNOWN_FIELD = "Dieses Feld gehört nicht zu diesem Antrag."
MSG_UNKNOWN_EVIDENCE = "Für diesen Antrag wird kein solcher Nachweis verlangt."
MSG_TWICE = "Bitte senden Sie jeden Nachweis nur einmal."


@dataclass(frozen=True)
class Upload:
    kind: str  # the evidence it answers, e.g. "fahrzeugschein"
    filename: str
    data: bytes


@dataclass(frozen=True)
class SubmitApplication:
    """Everything of an application at once: the values of every step and the uploads.

    ``case_id`` is chosen by the client as the idempotency key, or None for a fresh one.
    """

    account: Account
    service_id: str
    values: dict[str, str]
    uploads: list[Upload]
    case_id: str | None = None


@dataclass(frozen=True)
class Received:
    case_id: str
    status: str
    new: bool  # False: this account had submitted this case id before; nothing changed


class ApplicationRefused(Exception):
    """Something is wrong; nothing was stored. ``errors``: field name -> German message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(sorted(errors))  # names only: the messages may quote what was typed
        self.errors = errors


class CaseIdTaken(Exception):
    """Another account has submitted an application under this case id."""


class Submissions(Forms):
    """Applications submitted whole by the JSON API: no draft, no register data."""

    async def submit_application(self, command: SubmitApplication) -> Received:
        """Check an application by the rules of the form (every step's fields, the address in
        the street directory, each upload by its content, the required evidence) and record it
        with its ApplicationSubmitted in one transaction, durable when this returns.

        Raises ``ApplicationRefused`` (nothing stored) or ``CaseIdTaken``. Idempotent per case
        id: the same account submitting it again gets the existing case back.
        """
        account = command.account
        case_id = command.case_id or str(uuid.uuid4())
        if command.case_id is not None:
            known = await self._received(account, case_id)
            if known is not None:
                return known
        proc = all_procedures().get(command.service_id)
        if proc is None or not proc.online:
            raise ApplicationRefused({"service_id": MSG_NOT_ONLINE})
        values, checked = await self._checked(proc, command)
        attachments = []
        for upload, media in checked:
            ref = await self.kernel.blobs.put(
                "portal", upload.data, media_type=media, filename=safe_filename(upload.filename)
            )
            attachments.append({"kind": upload.kind, "blob": msgspec.to_builtins(ref)})
        with case_context(case_id):
            try:
                async with self.kernel.transaction() as uow:
                    owner = await self.stage_application(uow, account, proc, case_id, values, attachments, [])
            except IntegrityError:  # a concurrent request committed this case id first
                if await self._received(account, case_id) is None:
                    raise
                owner = ""
        if owner is None:
            log.info("application %s for %s received", case_id, proc.id)
            return Received(case_id, "eingegangen", new=True)
        known = await self._received(account, case_id)
        assert known is not None  # the case id is taken, so _received answered or raised
        return known

    async def _checked(
        self, proc: Procedure, command: SubmitApplication
    ) -> tuple[dict[str, str], list[tuple[Upload, str]]]:
        """The values (with Stadtbezirk and Parkzone) and the uploads with their media type;
        ``ApplicationRefused`` with every problem found, as the form would name them."""
        values, errors = self._values(proc, command.values)
        checked, upload_errors = self._uploads(proc, command.uploads)
        errors.update(upload_errors)
        if not any(name in errors for name in ADDRESS_FIELDS):
            message = await self.locate(proc, {"values": values, "evidence": []})
            if message:
                errors["street"] = message
        attached = [{"kind": upload.kind} for upload, _ in checked]
        for e in missing_evidence(proc, values, attached, []):
            errors.setdefault(f"nachweis-{e.kind}", f"Bitte laden Sie „{e.label}“ hoch.")
        if errors:
            log.info("application for %s refused: %d problem(s)", proc.id, len(errors))
            raise ApplicationRefused(errors)
        return values, checked

    async def _received(self, account: Account, case_id: str) -> Received | None:
        """This account's earlier application under ``case_id``; ``CaseIdTaken`` if another's."""
        async with self.kernel.db.read() as s:
            row = (
                await s.execute(
                    sa.select(applications.c.account_id, applications.c.status).where(
                        applications.c.case_id == case_id
                    )
                )
            ).first()
        if row is None:
            return None
        if row.account_id != account.account_id:
            raise CaseIdTaken(case_id)
        return Received(case_id, row.status, new=False)

    def _values(self, proc: Procedure, given: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """The values as the form keeps them, and the messages of every step's wrong fields."""
        names = {f.name for f in proc.fields}
        errors = {name: MSG_UNKNOWN_FIELD for name in given if name not in names}
        values = {f.name: clean(given.get(f.name, "")) for f in proc.fields}
        errors.update(validate_step(list(proc.fields), values))
        return values, errors

    def _uploads(
        self, proc: Procedure, uploads: list[Upload]
    ) -> tuple[list[tuple[Upload, str]], dict[str, str]]:
        """The uploads that pass, with their media type by content; messages for the others."""
        evidence = {e.kind: e for e in proc.evidence}
        checked: list[tuple[Upload, str]] = []
        errors: dict[str, str] = {}
        seen: set[str] = set()
        for upload in uploads:
            key = f"nachweis-{upload.kind}"
            e = evidence.get(upload.kind)
            if e is None:
                errors[key] = MSG_UNKNOWN_EVIDENCE
            elif upload.kind in seen:
                errors[key] = MSG_TWICE
            else:
                message, media = check_upload(e, upload.data, upload.filename)
                if message:
                    errors[key] = f"{e.label}: {message}"
                else:
                    checked.append((upload, media))
            seen.add(upload.kind)
        return checked, errors
