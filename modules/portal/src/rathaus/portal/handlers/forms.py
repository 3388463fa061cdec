"""The application form: drafts, register data on request, the street directory, uploads,
submission — for any service, from its procedure version (services as data)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa

from rathaus.contracts.broker.v1 import AddressQuery
from rathaus.contracts.broker.v2 import FETCH_EVIDENCE, LOOKUP_ADDRESS, EvidenceRequest, EvidenceResponse
from rathaus.contracts.common import Address, BlobRef
from rathaus.contracts.common_v2 import Organisation, Party
from rathaus.contracts.portal.v1 import EvidenceUse
from rathaus.contracts.portal.v2 import ApplicationSubmitted, AttachedFile
from rathaus.platform.kernel import UnitOfWork
from rathaus.platform.kernel.calendar import is_holiday
from rathaus.platform.kernel.db import OnConflictInsert
from rathaus.platform.kernel.procedures import Definition, Inputs, Result, judge, preview
from rathaus.platform.kernel.procedures.definition import DIRECTORY_SOURCE
from rathaus.platform.kernel.procedures.pins import pin
from rathaus.platform.kernel.rpc import RpcFailed
from rathaus.platform.kernel.telemetry import case_context
from rathaus.portal.domain import Account, address_key, check_upload, initial_values, safe_filename
from rathaus.portal.handlers.base import now
from rathaus.portal.handlers.organisations import ActingFor
from rathaus.portal.handlers.strassen import StreetDirectory
from rathaus.portal.store import applications, drafts

MSG_BROKER_DOWN = (
    "Die Register sind gerade nicht erreichbar. Bitte füllen Sie das Formular selbst aus "
    "oder versuchen Sie es später noch einmal."
)
MSG_ADDRESS_UNCHECKED = (
    "Die Anschrift konnte nicht im Straßenverzeichnis geprüft werden; den Stadtbezirk ermittelt "
    "die Sachbearbeitung."
)
MSG_NOT_A_MEMBER = "Sie können diesen Antrag nicht für dieses Unternehmen stellen."
PLACE = "_ort"  # the draft's cached street-directory answer for its address
# the case id taken in one statement, compiled once (SQLAlchemy does not cache ON CONFLICT)
RECORD_APPLICATION = OnConflictInsert(
    applications, index_elements=[applications.c.case_id], returning=[applications.c.case_id]
)
ADDRESS_SOURCES = {
    "melderegister": ("strasse", "hausnummer", "postleitzahl", "ort"),
    "unternehmen": ("strasse", "hausnummer", "postleitzahl", "ort"),
}


@dataclass(frozen=True)
class Applicant:
    """Who fills in a form: an account (acting for itself or an organisation) or nobody."""

    account: Account | None
    owner: str  # the drafts' key: the account id, or "anon:<id>" of an anonymous session
    acting: ActingFor | None = None  # the organisation the account applies for

    @property
    def organisation(self) -> Organisation | None:
        return self.acting.organisation if self.acting is not None else None


def account_sources(account: Account | None) -> dict[str, list[str]]:
    if account is None:
        return {}
    return {
        "konto.vorname": [account.given_name],
        "konto.familienname": [account.family_name],
        "konto.geburtsdatum": [account.birth_date],
        "konto.email": [account.email],
    }


class Forms(StreetDirectory):
    # -- drafts ----------------------------------------------------------------------------

    def definition_of(self, draft: dict[str, Any]) -> Definition:
        """The procedure version a draft was started with."""
        return self.kernel.procedures.get(draft["service_id"], int(draft["service_version"]))

    async def find_draft(self, owner: str, service_id: str) -> dict[str, Any] | None:
        async with self.kernel.db.session() as s:
            row = (
                (
                    await s.execute(
                        sa.select(drafts).where(
                            drafts.c.account_id == owner, drafts.c.service_id == service_id
                        )
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        draft = dict(row)
        draft["service_version"] = draft.get("service_version") or 1
        return draft

    async def draft(
        self,
        applicant: Applicant,
        definition: Definition,
        organisation_values: dict[str, list[str]] | None = None,
    ) -> dict[str, Any]:
        """The draft of this application, created on first use with a fresh case id and the
        current version of the service; a draft keeps its version until it is submitted."""
        found = await self.find_draft(applicant.owner, definition.id)
        if found is not None:
            return found
        sources = {**account_sources(applicant.account), **(organisation_values or {})}
        draft: dict[str, Any] = {
            "account_id": applicant.owner,
            "service_id": definition.id,
            "service_version": definition.version,
            "organisation_id": applicant.organisation.organisation_id if applicant.organisation else None,
            "case_id": str(uuid.uuid4()),
            "values": initial_values(definition, sources),
            "evidence": [],
            "attachments": [],
            "preview": None,
            "updated_at": now(),
        }
        async with self.kernel.db.session() as s:
            exists = (
                await s.execute(
                    sa.select(drafts.c.case_id).where(
                        drafts.c.account_id == applicant.owner, drafts.c.service_id == definition.id
                    )
                )
            ).first()
            if exists is None:  # two tabs may open the form at once: the first one wins
                await s.execute(drafts.insert().values(**draft))
        return draft if exists is None else await self.draft(applicant, definition, organisation_values)

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
                    organisation_id=draft.get("organisation_id"),
                    updated_at=now(),
                )
            )

    async def discard_draft(self, draft: dict[str, Any]) -> None:
        async with self.kernel.db.session() as s:
            await s.execute(
                drafts.delete().where(
                    drafts.c.account_id == draft["account_id"], drafts.c.service_id == draft["service_id"]
                )
            )

    # -- register data on request (once-only) ----------------------------------------------------

    async def ask_registers(self, account: Account, definition: Definition, case_id: str) -> dict[str, Any]:
        """Ask the broker for the register attributes this form can be filled with, on the
        citizen's explicit request; a preview, used only once confirmed."""
        proc = definition.procedure
        attributes = definition.register_attributes()
        try:
            with case_context(case_id):
                response = await self.kernel.ask(
                    FETCH_EVIDENCE,
                    EvidenceRequest(
                        account_id=account.account_id,
                        assurance_level=account.assurance_level,
                        person=account.person,
                        attributes=attributes,
                        purpose=proc.purpose,
                        legal_basis=proc.legal_basis,
                        service_id=proc.id,
                        case_id=case_id,
                    ),
                    timeout=10,
                )
        except RpcFailed:
            response = EvidenceResponse(released=False, message=MSG_BROKER_DOWN)
        return {
            "released": response.released,
            "message": response.message,
            "evidence_id": response.evidence_id,
            "registers": definition.registers(),
            "attributes": attributes,
            "values": {k: list(v) for k, v in response.values.items()},
            "fetched_at": now(),
        }

    async def fetch_evidence(
        self, account: Account, definition: Definition, draft: dict[str, Any]
    ) -> dict[str, Any]:
        draft["preview"] = await self.ask_registers(account, definition, draft["case_id"])
        await self.save_draft(draft)
        return dict(draft["preview"])

    async def confirm_preview(self, definition: Definition, draft: dict[str, Any]) -> bool:
        """The citizen confirmed the preview: prefill the form and remember the use."""
        shown = draft.get("preview")
        if not shown or not shown.get("released"):
            return False
        values = draft["values"]
        register = shown["values"]
        for node in definition.fields():
            e = node.element
            if node.repeating_group or not e.prefill or e.prefill not in register or not node.user_supplied:
                continue
            if register[e.prefill]:
                values[e.name] = register[e.prefill][0]
        draft["evidence"] = [
            {
                "evidence_id": shown["evidence_id"],
                "registers": shown["registers"],
                "attributes": shown["attributes"],
                "values": register,
                "confirmed_at": now(),
            }
        ]
        draft["preview"] = None
        await self.save_draft(draft)
        return True

    async def decline_preview(self, draft: dict[str, Any]) -> None:
        draft["preview"] = None
        await self.save_draft(draft)

    # -- judging ---------------------------------------------------------------------------------

    async def place(self, definition: Definition, values: dict[str, Any]) -> dict[str, Any] | None:
        """The street directory's answer for the form's address (cached in the values while
        the address stays the same); None when the form has no address or it is incomplete."""
        spec = definition.procedure.address
        if spec is None:
            return None
        parts = [values.get(spec.street), values.get(spec.house_number), values.get(spec.postal_code)]
        if not all(isinstance(p, str) and p.strip() for p in parts):
            return None
        key = list(address_key(*parts))
        cached = values.get(PLACE)
        if isinstance(cached, dict) and cached.get("key") == key and cached.get("checked"):
            return cached
        local = await self.directory_facts(str(parts[0]), str(parts[1]), str(parts[2]))
        if local is not None:  # the portal's copy of the directory (see handlers/strassen)
            answer = {"key": key, "checked": True, **local}
            values[PLACE] = answer
            return answer
        try:
            facts = await self.kernel.ask(
                LOOKUP_ADDRESS,
                AddressQuery(street=str(parts[0]), house_number=str(parts[1]), postal_code=str(parts[2])),
            )
            answer = {
                "key": key,
                "checked": True,
                "found": facts.found,
                "attributes": dict(facts.attributes),
                "message": facts.message,
            }
        except RpcFailed:
            answer = {"key": key, "checked": False, "found": False, "attributes": {}, "message": ""}
        values[PLACE] = answer
        return answer

    async def judge_values(
        self,
        definition: Definition,
        values: dict[str, Any],
        *,
        origin: str,
        files: dict[str, Any],
        evidence: list[dict[str, Any]],
        complete: bool = True,
    ) -> Result:
        """The one engine's verdict, with the sources the portal knows: confirmed register
        data and the street directory's answer for the address."""
        sources: dict[str, list[str]] = {}
        for use in evidence:
            for attribute, found in (use.get("values") or {}).items():
                sources[attribute] = list(found)
        place = await self.place(definition, values)
        if place is not None and place["found"]:
            for name, value in place["attributes"].items():
                sources[f"{DIRECTORY_SOURCE}.{name}"] = [value] if value else []
        inputs = Inputs(
            values={k: v for k, v in values.items() if k != PLACE},
            origin=origin,
            files=files,
            sources=sources,
            holidays=is_holiday,
        )
        result = judge(definition, inputs) if complete else preview(definition, inputs)
        spec = definition.procedure.address
        if (
            place is not None
            and spec is not None
            and place["checked"]
            and not place["found"]
            and spec.must_exist
            # a wrong postal code is said at the postal code, not as an unknown address
            and not any((f,) in result.errors for f in (spec.street, spec.house_number, spec.postal_code))
        ):
            result.errors.setdefault((spec.street,), place["message"] or "Diese Anschrift ist nicht bekannt.")
        if place is not None and not place["checked"] and spec is not None:
            result.warnings.setdefault((spec.street,), MSG_ADDRESS_UNCHECKED)
        return result

    async def judge_draft(
        self, definition: Definition, draft: dict[str, Any], complete: bool = True
    ) -> Result:
        files = {a.get("field", a.get("kind")): a for a in draft["attachments"]}
        return await self.judge_values(
            definition,
            draft["values"],
            origin="form",
            files=files,
            evidence=draft["evidence"],
            complete=complete,
        )

    async def attach(
        self, draft: dict[str, Any], definition: Definition, field: str, data: bytes, filename: str
    ) -> str | None:
        """Check an upload by its content and keep it for the draft; the German message if refused."""
        node = definition.nodes.get(field)
        if node is None or not node.is_file:
            return "Für diesen Antrag wird keine solche Datei verlangt."
        message, media = await asyncio.to_thread(check_upload, node, data)  # decodes: off the loop
        if message:
            return message
        ref = await self.kernel.blobs.put("portal", data, media_type=media, filename=safe_filename(filename))
        draft["attachments"] = [a for a in draft["attachments"] if a.get("field", a.get("kind")) != field]
        draft["attachments"].append({"field": field, "blob": msgspec.to_builtins(ref), "uploaded_at": now()})
        return None

    # -- submitting ------------------------------------------------------------------------------

    async def submitted(self, owner: str, case_id: str) -> bool:
        async with self.kernel.db.session() as s:
            return (
                await s.execute(
                    sa.select(applications.c.case_id).where(
                        applications.c.case_id == case_id, applications.c.account_id == owner
                    )
                )
            ).first() is not None

    async def submit(
        self, applicant: Applicant, definition: Definition, draft: dict[str, Any], result: Result
    ) -> str:
        """Submit the judged draft and delete it, in one transaction; idempotent: a second
        submission of the same draft (a double click) changes nothing."""
        case_id = draft["case_id"]
        with case_context(case_id):
            async with self.kernel.transaction() as uow:
                await self.stage_application(
                    uow,
                    applicant,
                    definition,
                    case_id,
                    result,
                    draft["attachments"],
                    draft["evidence"],
                    draft["values"],
                )
                await uow.session.execute(
                    drafts.delete().where(
                        drafts.c.account_id == applicant.owner,
                        drafts.c.service_id == definition.id,
                        drafts.c.case_id == case_id,
                    )
                )
        return case_id

    async def stage_application(
        self,
        uow: UnitOfWork,
        applicant: Applicant,
        definition: Definition,
        case_id: str,
        result: Result,
        attachments: list[dict[str, Any]],
        evidence: list[dict[str, Any]],
        values: dict[str, Any],
    ) -> str | None:
        """Record an application in ``uow``'s transaction, for the form and the API alike:
        the application row, the pinned procedure version, and ApplicationSubmitted (staged in
        the outbox) built from the engine's data, the attachments and the register data used.

        Idempotent per case id: when the case id is taken, nothing is written and the owner
        that holds it is returned; None when the application was recorded now.
        """
        place = values.get(PLACE) if isinstance(values.get(PLACE), dict) else None
        event = application_event(applicant, definition, case_id, result, attachments, evidence, place)
        # the case id taken first, in one statement: two submissions of one draft at once (a
        # double click) cannot both pass a look-up on PostgreSQL, where writers run side by side
        application_row = {
            "case_id": case_id,
            "account_id": applicant.owner,
            "organisation_id": applicant.organisation.organisation_id if applicant.organisation else None,
            "service_id": definition.id,
            "service_version": definition.version,
            "status": "eingegangen",
            "submitted_at": event.submitted_at,
        }
        recorded = (await RECORD_APPLICATION.execute(uow.session, application_row)).scalar()
        if recorded is None:
            owner = (
                await uow.session.execute(
                    sa.select(applications.c.account_id).where(applications.c.case_id == case_id)
                )
            ).scalar()
            return str(owner)
        await pin(uow.session, definition, case_id)
        await uow.emit(event, subject=case_id)
        return None


def party(applicant: Applicant, definition: Definition, data: dict[str, Any]) -> Party:
    """Whom the Bescheid goes to: the account's verified person, the organisation it acts
    for (at the organisation's address), else an address from the fields the register fills
    in, and an e-mail address (the account's, or the one an anonymous applicant typed)."""
    address = applicant.acting.address if applicant.acting is not None else None
    for source, attributes in ADDRESS_SOURCES.items() if address is None else ():
        by_attribute = {
            n.element.prefill.split(".", 1)[1]: n.name
            for n in definition.fields()
            if n.element.prefill.startswith(source + ".") and not n.repeating_group
        }
        if all(a in by_attribute for a in attributes[:3]):
            parts = [str(data.get(by_attribute[a], "")) for a in attributes[:3]]
            if all(parts):
                city = str(data.get(by_attribute.get("ort", ""), "")) or "München"
                address = Address(street=parts[0], house_number=parts[1], postal_code=parts[2], city=city)
                break
    account = applicant.account
    email = account.email if account is not None else ""
    if not email:
        typed = next((n.name for n in definition.fields() if n.element.prefill == "konto.email"), "")
        email = str(data.get(typed, "")) if typed else ""
    return Party(
        person=account.person if account is not None else None,
        organisation=applicant.organisation,
        address=address,
        email=email,
        account_id=account.account_id if account is not None else "",
    )


def application_event(
    applicant: Applicant,
    definition: Definition,
    case_id: str,
    result: Result,
    attachments: list[dict[str, Any]],
    evidence: list[dict[str, Any]],
    place: dict[str, Any] | None,
) -> ApplicationSubmitted:
    files = []
    for a in attachments:
        field = a.get("field", a.get("kind", ""))
        node = definition.nodes.get(field)
        if node is None:
            continue
        e = node.element
        files.append(
            AttachedFile(
                field=field,
                document_type=e.document_type or field,
                title=e.label,
                blob=msgspec.convert(a["blob"], BlobRef),
            )
        )
    stadtbezirk = ""
    if place is not None and place.get("found"):
        stadtbezirk = str(place["attributes"].get("stadtbezirk", ""))
    return ApplicationSubmitted(
        case_id=case_id,
        service_id=definition.id,
        service_version=definition.version,
        procedure_digest=definition.digest,
        applicant=party(applicant, definition, result.data),
        data=result.data,
        attachments=files,
        evidence=[
            EvidenceUse(
                evidence_id=e["evidence_id"], registers=list(e["registers"]), confirmed_at=e["confirmed_at"]
            )
            for e in evidence
        ],
        warnings=list(dict.fromkeys(result.warnings.values())),
        stadtbezirk=stadtbezirk,
        submitted_at=now(),
    )
