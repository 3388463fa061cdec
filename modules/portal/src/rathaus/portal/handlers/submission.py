"""An application submitted whole, in one request (the JSON API): checked against its
version's JSON Schema and by the same rule engine as the form, for any service."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from rathaus.platform.kernel.procedures import Definition
from rathaus.platform.kernel.telemetry import case_context
from rathaus.portal.domain import Account, check_upload, safe_filename
from rathaus.portal.domain.accounts import ASSURANCE_ORDER
from rathaus.portal.domain.api import cleaned, verdict
from rathaus.portal.handlers.forms import MSG_NOT_A_MEMBER, Applicant, Forms
from rathaus.portal.store import applications, register_requests

log = logging.getLogger("rathaus.portal")

MSG_NOT_ONLINE = "Diese Leistung kann hier nicht online beantragt werden."
MSG_VERSION = "Diese Version der Leistung wird nicht mehr angeboten. Aktuell ist Version {current}."
MSG_TWICE = "Bitte senden Sie jede Datei nur einmal."
MSG_LEVEL = (
    "Für diese Leistung brauchen Sie ein Konto mit dem Vertrauensniveau „{level}“ "
    "(zum Beispiel mit der Online-Ausweisfunktion oder nach Prüfung im Bürgerbüro)."
)
MSG_ORGANISATION_NEEDED = "Diese Leistung beantragen Unternehmen: Bitte geben Sie im_namen_von an."
MSG_NO_ORGANISATION = "Diese Leistung können Unternehmen nicht beantragen."
MSG_REGISTER = (
    "Diesen Registerabruf gibt es nicht, er gehört nicht zu Ihrem Konto oder wurde schon verwendet."
)


@dataclass(frozen=True)
class Upload:
    field: str  # the form's file field it answers, e.g. "fahrzeugschein"
    filename: str
    data: bytes


@dataclass(frozen=True)
class SubmitApplication:
    """Everything of an application at once: the data and the uploads.

    ``case_id`` is chosen by the client as the idempotency key, or None for a fresh one.
    """

    account: Account
    service_id: str
    values: dict[str, Any]
    uploads: list[Upload]
    case_id: str | None = None
    version: int | None = None
    register_request: str | None = None  # a confirmed register request (evidence id)
    organisation_id: str | None = None
    body: dict[str, Any] = field(default_factory=dict)  # the request as sent, for the schema


@dataclass(frozen=True)
class Received:
    case_id: str
    status: str
    new: bool  # False: this account had submitted this case id before; nothing changed
    warnings: tuple[str, ...] = ()


class ApplicationRefused(Exception):
    """Something is wrong; nothing was stored. ``errors``: field path -> German message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(sorted(errors))  # names only: the messages may quote what was typed
        self.errors = errors


class CaseIdTaken(Exception):
    """Another account has submitted an application under this case id."""


def level_ok(account: Account, needed: str) -> bool:
    have = (
        ASSURANCE_ORDER.index(account.assurance_level) if account.assurance_level in ASSURANCE_ORDER else -1
    )
    return have >= ASSURANCE_ORDER.index(needed)


class Submissions(Forms):
    """Applications submitted whole by the JSON API."""

    def offered(self, service_id: str, version: int | None) -> Definition:
        definition = self.kernel.procedures.current(service_id)
        if definition is None:
            raise ApplicationRefused({"service_id": MSG_NOT_ONLINE})
        if version is not None and version != definition.version:
            try:
                older = self.kernel.procedures.get(service_id, version)
            except KeyError:
                older = None
            if older is None or not older.valid_on(date.today()):
                raise ApplicationRefused({"version": MSG_VERSION.format(current=definition.version)})
            return older
        return definition

    async def submit_application(self, command: SubmitApplication) -> Received:
        """Check an application (its version's JSON Schema, the rule engine, the address in
        the street directory, each upload by its content) and record it with its
        ApplicationSubmitted in one transaction, durable when this returns.

        Raises ``ApplicationRefused`` (nothing stored) or ``CaseIdTaken``. Idempotent per case
        id: the same account submitting it again gets the existing case back.
        """
        account = command.account
        case_id = command.case_id or str(uuid.uuid4())
        if command.case_id is not None:
            known = await self._received(account, case_id)
            if known is not None:
                return known
        definition = self.offered(command.service_id, command.version)
        applicant = await self._applicant(account, definition, command.organisation_id)
        evidence = await self._register_use(account, definition, command.register_request)
        values = cleaned(command.values)
        checked, upload_errors = await asyncio.to_thread(self._uploads, definition, command.uploads)
        files = {upload.field: {"field": upload.field} for upload, _ in checked}
        judged = dict(values)  # gets the street directory's answer (the place) beside the values
        result = await self.judge_values(definition, judged, origin="json", files=files, evidence=evidence)
        base = self.kernel.settings.web.public_url or "https://rathaus.example"
        # a refused upload says why it was refused, not only that the file is missing
        errors = {
            **verdict(definition, {**cleaned(command.body), "angaben": values}, result, base),
            **upload_errors,
        }
        if errors:
            log.info("application for %s refused: %d problem(s)", definition.key, len(errors))
            raise ApplicationRefused(errors)
        attachments = []
        for upload, media in checked:
            ref = await self.kernel.blobs.put(
                "portal", upload.data, media_type=media, filename=safe_filename(upload.filename)
            )
            attachments.append({"field": upload.field, "blob": msgspec.to_builtins(ref)})
        with case_context(case_id):
            try:
                async with self.kernel.transaction() as uow:
                    owner = await self.stage_application(
                        uow, applicant, definition, case_id, result, attachments, evidence, judged
                    )
                    if owner is None and command.register_request:
                        await uow.session.execute(
                            register_requests.update()
                            .where(register_requests.c.evidence_id == command.register_request)
                            .values(used_by=case_id)
                        )
            except IntegrityError:  # a concurrent request committed this case id first
                if await self._received(account, case_id) is None:
                    raise
                owner = ""
        if owner is None:
            log.info("application %s for %s received", case_id, definition.key)
            return Received(
                case_id, "eingegangen", new=True, warnings=tuple(dict.fromkeys(result.warnings.values()))
            )
        known = await self._received(account, case_id)
        assert known is not None  # the case id is taken, so _received answered or raised
        return known

    async def _applicant(
        self, account: Account, definition: Definition, organisation_id: str | None
    ) -> Applicant:
        proc = definition.procedure
        if not level_ok(account, proc.assurance):
            raise ApplicationRefused({"antrag": MSG_LEVEL.format(level=proc.assurance)})
        if organisation_id:
            if "organisation" not in proc.applicants:
                raise ApplicationRefused({"im_namen_von": MSG_NO_ORGANISATION})
            acting = await self.acting_for(account, organisation_id)  # type: ignore[attr-defined]
            if acting is None:
                raise ApplicationRefused({"im_namen_von": MSG_NOT_A_MEMBER})
            return Applicant(account, account.account_id, acting)
        if "person" not in proc.applicants:
            raise ApplicationRefused({"im_namen_von": MSG_ORGANISATION_NEEDED})
        return Applicant(account, account.account_id)

    async def _register_use(
        self, account: Account, definition: Definition, evidence_id: str | None
    ) -> list[dict[str, Any]]:
        if not evidence_id:
            return []
        async with self.kernel.db.read() as s:
            row = (
                (
                    await s.execute(
                        sa.select(register_requests).where(
                            register_requests.c.evidence_id == evidence_id,
                            register_requests.c.account_id == account.account_id,
                            register_requests.c.service_id == definition.id,
                            register_requests.c.used_by.is_(None),
                        )
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            raise ApplicationRefused({"registerdaten": MSG_REGISTER})
        return [
            {
                "evidence_id": row["evidence_id"],
                "registers": list(row["registers"]),
                "attributes": list(row["values"]),
                "values": dict(row["values"]),
                "confirmed_at": row["fetched_at"],
            }
        ]

    async def request_registers(self, account: Account, service_id: str) -> dict[str, Any]:
        """Register data for the API: fetched on the citizen's explicit request, returned as a
        preview; it is used only when a submission names its evidence id (the confirmation)."""
        definition = self.offered(service_id, None)
        if not definition.register_attributes():
            raise ApplicationRefused({"service_id": "Diese Leistung verwendet keine Registerdaten."})
        preview = await self.ask_registers(account, definition, str(uuid.uuid4()))
        if preview["released"]:
            async with self.kernel.db.session() as s:
                await s.execute(
                    register_requests.insert().values(
                        evidence_id=preview["evidence_id"],
                        account_id=account.account_id,
                        service_id=definition.id,
                        registers=preview["registers"],
                        values=preview["values"],
                        fetched_at=preview["fetched_at"],
                    )
                )
        return preview

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

    def _uploads(
        self, definition: Definition, uploads: list[Upload]
    ) -> tuple[list[tuple[Upload, str]], dict[str, str]]:
        """The uploads that pass, with their media type by content; messages for the others."""
        checked: list[tuple[Upload, str]] = []
        errors: dict[str, str] = {}
        seen: set[str] = set()
        for upload in uploads:
            node = definition.nodes.get(upload.field)
            key = upload.field
            if node is None or not node.is_file:
                errors[f"nachweise.{upload.field}"] = "Für diesen Antrag wird keine solche Datei verlangt."
            elif upload.field in seen:
                errors[key] = MSG_TWICE
            else:
                message, media = check_upload(node, upload.data)
                if message:
                    errors[key] = f"{node.element.label}: {message}"
                else:
                    checked.append((upload, media))
            seen.add(upload.field)
        return checked, errors
