"""The application form: drafts, register data on request, uploads, submission."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import sqlalchemy as sa

from rathaus.contracts.broker.v1 import (
    FETCH_EVIDENCE,
    LOOKUP_ADDRESS,
    AddressQuery,
    EvidenceRequest,
    EvidenceResponse,
)
from rathaus.contracts.common import Address, BlobRef, Person
from rathaus.contracts.portal.v1 import Applicant, ApplicationSubmitted, Attachment, EvidenceUse
from rathaus.contracts.procedures import Procedure
from rathaus.platform.kernel import UnitOfWork
from rathaus.platform.kernel.rpc import RpcFailed
from rathaus.platform.kernel.telemetry import case_context
from rathaus.portal.domain import (
    ADDRESS_FIELDS,
    Account,
    address_key,
    check_upload,
    registers_of,
    safe_filename,
)
from rathaus.portal.handlers.base import Base, now
from rathaus.portal.store import applications, drafts

MSG_BROKER_DOWN = (
    "Die Register sind gerade nicht erreichbar. Bitte füllen Sie das Formular selbst aus "
    "oder versuchen Sie es später noch einmal."
)
MSG_ADDRESS_UNCHECKED = (
    "Das Straßenverzeichnis ist gerade nicht erreichbar; das Parklizenzgebiet Ihrer Anschrift "
    "ermittelt die Sachbearbeitung."
)


class Forms(Base):
    async def find_draft(self, account: Account, service_id: str) -> dict[str, Any] | None:
        async with self.kernel.db.session() as s:
            row = (
                (
                    await s.execute(
                        sa.select(drafts).where(
                            drafts.c.account_id == account.account_id, drafts.c.service_id == service_id
                        )
                    )
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    async def draft(self, account: Account, proc: Procedure) -> dict[str, Any]:
        """The draft of this application, created with a fresh case id on first use."""
        found = await self.find_draft(account, proc.id)
        if found is not None:
            return found
        draft: dict[str, Any] = {
            "account_id": account.account_id,
            "service_id": proc.id,
            "case_id": str(uuid.uuid4()),
            "values": {
                "given_name": account.given_name,
                "family_name": account.family_name,
                "birth_date": account.birth_date,
            },
            "evidence": [],
            "attachments": [],
            "preview": None,
            "updated_at": now(),
        }
        async with self.kernel.db.session() as s:
            exists = (
                await s.execute(
                    sa.select(drafts.c.case_id).where(
                        drafts.c.account_id == account.account_id, drafts.c.service_id == proc.id
                    )
                )
            ).first()
            if exists is None:  # two tabs may open the form at once: the first one wins
                await s.execute(drafts.insert().values(**draft))
        return draft if exists is None else await self.draft(account, proc)

    async def save_draft(self, draft: dict[str, Any]) -> None:
        async with self.kernel.db.session() as s:
            await s.execute(
                drafts.update()
                .where(drafts.c.account_id == draft["account_id"], drafts.c.service_id == draft["service_id"])
                .values(
                    values=draft["values"],
                    evidence=draft["evidence"],
                    attachments=draft["attachments"],
                    preview=draft["preview"],
                    updated_at=now(),
                )
            )

    async def fetch_evidence(
        self, account: Account, proc: Procedure, draft: dict[str, Any]
    ) -> dict[str, Any]:
        """Ask the broker for register data on the citizen's explicit request; keep it as a
        preview in the draft. Nothing of it is used before the citizen confirms."""
        registers = registers_of(proc)
        try:
            with case_context(draft["case_id"]):
                response = await self.kernel.ask(
                    FETCH_EVIDENCE,
                    EvidenceRequest(
                        account_id=account.account_id,
                        assurance_level=account.assurance_level,
                        person=account.person,
                        registers=registers,
                        purpose=proc.purpose,
                        legal_basis=proc.legal_basis,
                        service_id=proc.id,
                        case_id=draft["case_id"],
                    ),
                    timeout=10,
                )
        except RpcFailed:
            response = EvidenceResponse(released=False, message=MSG_BROKER_DOWN)
        draft["preview"] = {
            "released": response.released,
            "message": response.message,
            "registers": registers,
            "fetched_at": now(),
            "data": msgspec.to_builtins(response),
        }
        await self.save_draft(draft)
        return draft["preview"]

    async def confirm_preview(self, draft: dict[str, Any]) -> bool:
        """The citizen confirmed the preview: prefill the form and remember the use."""
        preview = draft.get("preview")
        if not preview or not preview.get("released"):
            return False
        evidence = msgspec.convert(preview["data"], EvidenceResponse)
        values = draft["values"]
        use: dict[str, Any] = {
            "evidence_id": evidence.evidence_id,
            "registers": preview["registers"],
            "confirmed_at": now(),
            "vehicles": [v.kennzeichen for v in evidence.vehicles],
        }
        if evidence.address is not None:
            values.update(
                street=evidence.address.street,
                house_number=evidence.address.house_number,
                postal_code=evidence.address.postal_code,
                stadtbezirk=evidence.stadtbezirk,
                parkzone=evidence.parkzone,
            )
            use.update(
                address={k: values[k] for k in ADDRESS_FIELDS},
                stadtbezirk=evidence.stadtbezirk,
                parkzone=evidence.parkzone,
            )
        if evidence.vehicles:
            values["kennzeichen"] = evidence.vehicles[0].kennzeichen
            values["halter"] = "ja"
        draft["evidence"] = [use]
        draft["preview"] = None
        await self.save_draft(draft)
        return True

    async def decline_preview(self, draft: dict[str, Any]) -> None:
        draft["preview"] = None
        await self.save_draft(draft)

    async def locate(self, proc: Procedure, draft: dict[str, Any]) -> str | None:
        """Stadtbezirk and parking zone of the address in the form: from the confirmed register
        data when the address is the registered one, else from the city's street directory.
        Returns the German message when the directory does not know the address."""
        names = {f.name for f in proc.fields}
        values = draft["values"]
        if not all(name in names for name in ADDRESS_FIELDS):
            return None
        for use in draft["evidence"]:
            if use.get("address") and address_key(use["address"]) == address_key(values):
                values.update(stadtbezirk=use["stadtbezirk"], parkzone=use["parkzone"])
                values.pop("ort_ungeprueft", None)
                return None
        try:
            info = await self.kernel.ask(
                LOOKUP_ADDRESS,
                AddressQuery(
                    street=values.get("street", ""),
                    house_number=values.get("house_number", ""),
                    postal_code=values.get("postal_code", ""),
                ),
            )
        except RpcFailed:
            values.update(stadtbezirk="", parkzone="", ort_ungeprueft="ja")
            return None
        if not info.found:
            return info.message or "Diese Anschrift ist nicht bekannt."
        values.update(stadtbezirk=info.stadtbezirk, parkzone=info.parkzone)
        values.pop("ort_ungeprueft", None)
        return None

    async def attach(
        self, draft: dict[str, Any], proc: Procedure, kind: str, data: bytes, filename: str
    ) -> str | None:
        """Check an upload by its content and keep it for the draft; the German message if refused."""
        evidence = next((e for e in proc.evidence if e.kind == kind), None)
        if evidence is None:
            return "Für diesen Antrag wird kein solcher Nachweis verlangt."
        message, media = check_upload(evidence, data, filename)
        if message:
            return message
        ref = await self.kernel.blobs.put("portal", data, media_type=media, filename=safe_filename(filename))
        draft["attachments"] = [a for a in draft["attachments"] if a["kind"] != kind]
        draft["attachments"].append({"kind": kind, "blob": msgspec.to_builtins(ref), "uploaded_at": now()})
        return None

    async def submitted(self, account: Account, case_id: str) -> bool:
        async with self.kernel.db.session() as s:
            return (
                await s.execute(
                    sa.select(applications.c.case_id).where(
                        applications.c.case_id == case_id, applications.c.account_id == account.account_id
                    )
                )
            ).first() is not None

    async def submit(self, account: Account, proc: Procedure, draft: dict[str, Any]) -> str:
        """Submit the draft and delete it, in one transaction; idempotent: a second submission
        of the same draft (a double click) changes nothing."""
        case_id = draft["case_id"]
        with case_context(case_id):
            async with self.kernel.transaction() as uow:
                await self.stage_application(
                    uow, account, proc, case_id, draft["values"], draft["attachments"], draft["evidence"]
                )
                await uow.session.execute(
                    drafts.delete().where(
                        drafts.c.account_id == account.account_id,
                        drafts.c.service_id == proc.id,
                        drafts.c.case_id == case_id,
                    )
                )
        return case_id

    async def stage_application(
        self,
        uow: UnitOfWork,
        account: Account,
        proc: Procedure,
        case_id: str,
        values: dict[str, Any],
        attachments: list[dict[str, Any]],
        evidence: list[dict[str, Any]],
    ) -> str | None:
        """Record an application in ``uow``'s transaction, for the form and the API alike:
        the application row, and ApplicationSubmitted built from the values, the attachments
        (``{"kind", "blob"}``) and the confirmed register data uses, staged in the outbox.

        Idempotent per case id: when the case id is taken, nothing is written and the account
        id that owns it is returned; None when the application was recorded now.
        """
        owner = (
            await uow.session.execute(
                sa.select(applications.c.account_id).where(applications.c.case_id == case_id)
            )
        ).scalar()
        if owner is not None:
            return str(owner)
        event = application_event(account, proc, case_id, values, attachments, evidence)
        await uow.session.execute(
            applications.insert().values(
                case_id=case_id,
                account_id=account.account_id,
                service_id=proc.id,
                status="eingegangen",
                submitted_at=event.submitted_at,
            )
        )
        await uow.emit(event, subject=case_id)
        return None


def application_event(
    account: Account,
    proc: Procedure,
    case_id: str,
    values: dict[str, Any],
    attachments: list[dict[str, Any]],
    evidence: list[dict[str, Any]],
) -> ApplicationSubmitted:
    form = {k: str(v) for k, v in values.items()}
    return ApplicationSubmitted(
        case_id=case_id,
        service_id=proc.id,
        account_id=account.account_id,
        applicant=Applicant(
            person=Person(
                given_name=form.get("given_name", account.given_name),
                family_name=form.get("family_name", account.family_name),
                birth_date=form.get("birth_date", account.birth_date),
            ),
            address=Address(
                street=form.get("street", ""),
                house_number=form.get("house_number", ""),
                postal_code=form.get("postal_code", ""),
            ),
            email=account.email,
        ),
        form=form,
        attachments=[
            Attachment(kind=a["kind"], blob=msgspec.convert(a["blob"], BlobRef)) for a in attachments
        ],
        evidence=[
            EvidenceUse(
                evidence_id=e["evidence_id"], registers=e["registers"], confirmed_at=e["confirmed_at"]
            )
            for e in evidence
        ],
        submitted_at=now(),
    )
