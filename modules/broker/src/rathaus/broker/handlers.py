"""Use cases of the data broker: release evidence, answer the transparency query, look up
an address. Version 1 and version 2 requests share one set of rules: a version 1 request
is answered as the attributes its registers stand for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.broker.domain import (
    MSG_ADDRESS_UNKNOWN,
    MSG_NO_MATCH,
    described,
    house_key,
    normalise,
    refusal,
    registers_of,
    requested,
    street_key,
    v1_attributes,
)
from rathaus.broker.store import (
    append_log,
    log_summary,
    register_values,
    residents,
    strassen,
    transparency_log,
)
from rathaus.contracts.broker import v1, v2
from rathaus.contracts.common import Address, Person
from rathaus.platform.kernel import Kernel
from rathaus.platform.kernel.telemetry import case_context


@dataclass(frozen=True)
class Ask:
    """An evidence request of any version: who asks, why, and for which attributes."""

    account_id: str
    assurance_level: str
    person: Person
    purpose: str
    legal_basis: str
    service_id: str
    case_id: str
    requester: str
    attributes: list[str]  # as logged: each once, sorted
    registers: list[str]


@dataclass(frozen=True)
class Release:
    released: bool
    message: str = ""
    evidence_id: str = ""
    values: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Exchange:
    """One logged exchange as the citizen reads it."""

    at: str
    requester: str
    purpose: str
    legal_basis: str
    registers: list[str]
    attributes: list[str]
    data: list[str]  # the attributes in German words, a line per register
    case_id: str
    released: bool


class Broker:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    async def _resident(self, session: AsyncSession, person: Person) -> dict[str, object] | None:
        rows = (
            (
                await session.execute(
                    sa.select(residents).where(
                        residents.c.given_key == normalise(person.given_name),
                        residents.c.family_key == normalise(person.family_name),
                        residents.c.birth_date == person.birth_date,
                        residents.c.main_residence.is_(True),
                    )
                )
            )
            .mappings()
            .all()
        )
        return dict(rows[0]) if len(rows) == 1 else None

    # -- evidence ---------------------------------------------------------------------------

    async def fetch_evidence(self, request: v2.EvidenceRequest) -> v2.EvidenceResponse:
        """Release exactly the register attributes asked for, on the citizen's explicit request."""
        attributes = requested(request.attributes)
        release = await self.release(_ask(request, attributes, registers_of(attributes)))
        return v2.EvidenceResponse(
            released=release.released,
            message=release.message,
            evidence_id=release.evidence_id,
            values=release.values,
        )

    async def fetch_evidence_v1(self, request: v1.EvidenceRequest) -> v1.EvidenceResponse:
        """A version 1 request: whole registers, answered as the attributes they stand for."""
        ask = _ask(request, v1_attributes(request.registers), list(request.registers))
        release = await self.release(ask)
        if not release.released:
            return v1.EvidenceResponse(released=False, message=release.message)
        values = release.values

        def one(attribute: str) -> str:
            return next(iter(values.get(attribute, [])), "")

        address = None
        if "melderegister" in ask.registers:
            address = Address(
                street=one("melderegister.strasse"),
                house_number=one("melderegister.hausnummer"),
                postal_code=one("melderegister.postleitzahl"),
                city=one("melderegister.ort"),
            )
        cars = zip(
            values.get("fahrzeugregister.kennzeichen", []),
            values.get("fahrzeugregister.hersteller", []),
            values.get("fahrzeugregister.modell", []),
            values.get("fahrzeugregister.halter_seit", []),
            strict=True,
        )
        return v1.EvidenceResponse(
            released=True,
            message="",
            evidence_id=release.evidence_id,
            address=address,
            stadtbezirk=one("melderegister.stadtbezirk"),
            parkzone=one("melderegister.parkzone"),
            vehicles=[v1.Vehicle(kennzeichen=k, make=m, model=t, holder_since=s) for k, m, t, s in cars],
        )

    async def release(self, ask: Ask) -> Release:
        """The rules of every version: log the request, answer it or say why not."""
        with case_context(ask.case_id):
            async with self.kernel.transaction() as uow:
                reason = refusal(ask.assurance_level, ask.purpose, ask.legal_basis, ask.attributes)
                resident = None if reason else await self._resident(uow.session, ask.person)
                if reason is None and resident is None:
                    reason = MSG_NO_MATCH
                evidence_id = str(uuid.uuid4()) if reason is None else ""
                now = datetime.now(UTC).isoformat()
                await append_log(
                    uow.session,
                    {
                        "at": now,
                        "requester": ask.requester,
                        "purpose": ask.purpose,
                        "legal_basis": ask.legal_basis,
                        "case_id": ask.case_id,
                        "service_id": ask.service_id,
                        "account_id": ask.account_id,
                        "resident_id": resident["id"] if resident else None,
                        "registers": ask.registers,
                        "attributes": ask.attributes,
                        "released": reason is None,
                        "evidence_id": evidence_id,
                    },
                )
                if reason is not None or resident is None:
                    return Release(released=False, message=reason or "")
                values = await register_values(uow.session, resident, ask.attributes)
                await uow.emit(
                    v1.EvidenceReleased(
                        evidence_id=evidence_id,
                        case_id=ask.case_id,
                        service_id=ask.service_id,
                        registers=ask.registers,
                        purpose=ask.purpose,
                        legal_basis=ask.legal_basis,
                        requester=ask.requester,
                        released_at=now,
                        attributes=ask.attributes,
                    ),
                    subject=ask.case_id,
                )
                return Release(released=True, evidence_id=evidence_id, values=values)

    # -- transparency -----------------------------------------------------------------------

    async def transparency(self, query: v1.TransparencyQuery) -> v1.TransparencyLog:
        """Every exchange that concerns the person of this account, newest first."""
        return v1.TransparencyLog(
            entries=[
                v1.TransparencyEntry(
                    at=e.at,
                    requester=e.requester,
                    purpose=e.purpose,
                    legal_basis=e.legal_basis,
                    registers=e.registers,
                    case_id=e.case_id,
                    released=e.released,
                    attributes=e.attributes,
                    data=e.data,
                )
                for e in await self.exchanges(query)
            ]
        )

    async def exchanges(self, query: v1.TransparencyQuery) -> list[Exchange]:
        """The exchanges of the transparency query, with what was asked for in German words."""
        async with self.kernel.db.read() as session:
            resident = await self._resident(session, query.person)
            condition = transparency_log.c.account_id == query.account_id
            if resident is not None:
                condition = sa.or_(condition, transparency_log.c.resident_id == resident["id"])
            rows = (
                await session.execute(
                    sa.select(transparency_log).where(condition).order_by(transparency_log.c.seq.desc())
                )
            ).mappings()
            exchanges = []
            for r in rows:
                attributes = logged_attributes(r["registers"], r["attributes"])
                exchanges.append(
                    Exchange(
                        at=r["at"],
                        requester=r["requester"],
                        purpose=r["purpose"],
                        legal_basis=r["legal_basis"],
                        registers=list(r["registers"]),
                        attributes=attributes,
                        data=described(attributes),
                        case_id=r["case_id"],
                        released=r["released"],
                    )
                )
            return exchanges

    async def statistics(self) -> list[dict[str, object]]:
        """Exchanges per purpose, data asked for and outcome: no personal data."""
        counts: dict[tuple[str, tuple[str, ...], bool], int] = {}
        async with self.kernel.db.read() as session:
            for purpose, released, registers, attributes, count in await log_summary(session):
                key = (purpose, tuple(described(logged_attributes(registers, attributes))), released)
                counts[key] = counts.get(key, 0) + count
        return [
            {"purpose": p, "data": list(d), "released": r, "count": n}
            for (p, d, r), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1], not kv[0][2]))
        ]

    # -- the street directory -----------------------------------------------------------------

    async def _place(self, query: v1.AddressQuery) -> tuple[str, str] | None:
        """Stadtbezirk and parking zone of an address, from the street directory (public data).

        An exact address wins; without one, a street whose known addresses under that postal
        code all lie in one district and zone answers for the whole street.
        """
        street, postal = street_key(query.street), query.postal_code.strip()
        async with self.kernel.db.read() as session:
            rows = (
                await session.execute(
                    sa.select(strassen.c.house_number, strassen.c.stadtbezirk, strassen.c.parkzone).where(
                        strassen.c.street_key == street, strassen.c.postal_code == postal
                    )
                )
            ).all()
        exact = [(d, z) for h, d, z in rows if h == house_key(query.house_number)]
        places = set(exact) or {(d, z) for _, d, z in rows}
        if len(places) != 1:
            return None
        ((district, zone),) = places
        return district, zone

    async def lookup_address(self, query: v1.AddressQuery) -> v2.AddressFacts:
        """The street directory's facts of an address: "stadtbezirk" and "parkzone" ("" for none)."""
        place = await self._place(query)
        if place is None:
            return v2.AddressFacts(found=False, message=MSG_ADDRESS_UNKNOWN)
        return v2.AddressFacts(found=True, attributes={"stadtbezirk": place[0], "parkzone": place[1]})

    async def lookup_address_v1(self, query: v1.AddressQuery) -> v1.AddressInfo:
        place = await self._place(query)
        if place is None:
            return v1.AddressInfo(found=False, message=MSG_ADDRESS_UNKNOWN)
        return v1.AddressInfo(found=True, stadtbezirk=place[0], parkzone=place[1])


def _ask(
    request: v1.EvidenceRequest | v2.EvidenceRequest, attributes: list[str], registers: list[str]
) -> Ask:
    return Ask(
        account_id=request.account_id,
        assurance_level=request.assurance_level,
        person=request.person,
        purpose=request.purpose,
        legal_basis=request.legal_basis,
        service_id=request.service_id,
        case_id=request.case_id,
        requester=request.requester,
        attributes=attributes,
        registers=registers,
    )


def logged_attributes(registers: list[str], attributes: list[str] | None) -> list[str]:
    """What an entry asked for; entries from before attributes were logged were version 1
    requests, which asked for what their registers stood for."""
    return list(attributes) if attributes is not None else v1_attributes(registers)
