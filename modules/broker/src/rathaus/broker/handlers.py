"""Use cases of the data broker: release evidence, answer the transparency query."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.broker.domain import (
    MSG_ADDRESS_UNKNOWN,
    MSG_NO_MATCH,
    house_key,
    normalise,
    refusal,
    street_key,
)
from rathaus.broker.store import append_log, residents, strassen, transparency_log, vehicles
from rathaus.contracts.broker.v1 import (
    AddressInfo,
    AddressQuery,
    EvidenceReleased,
    EvidenceRequest,
    EvidenceResponse,
    TransparencyEntry,
    TransparencyLog,
    TransparencyQuery,
    Vehicle,
)
from rathaus.contracts.common import Address, Person
from rathaus.platform.kernel import Kernel
from rathaus.platform.kernel.telemetry import case_context


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

    async def fetch_evidence(self, request: EvidenceRequest) -> EvidenceResponse:
        """Release register data on the citizen's explicit request, and log the exchange."""
        with case_context(request.case_id):
            async with self.kernel.transaction() as uow:
                reason = refusal(
                    request.assurance_level, request.purpose, request.legal_basis, request.registers
                )
                resident = None if reason else await self._resident(uow.session, request.person)
                if reason is None and resident is None:
                    reason = MSG_NO_MATCH
                evidence_id = str(uuid.uuid4()) if reason is None else ""
                now = datetime.now(UTC).isoformat()
                await append_log(
                    uow.session,
                    {
                        "at": now,
                        "requester": request.requester,
                        "purpose": request.purpose,
                        "legal_basis": request.legal_basis,
                        "case_id": request.case_id,
                        "service_id": request.service_id,
                        "account_id": request.account_id,
                        "resident_id": resident["id"] if resident else None,
                        "registers": list(request.registers),
                        "released": reason is None,
                        "evidence_id": evidence_id,
                    },
                )
                if reason is not None or resident is None:
                    return EvidenceResponse(released=False, message=reason or "")
                response = await self._evidence(uow.session, resident, request.registers, evidence_id)
                await uow.emit(
                    EvidenceReleased(
                        evidence_id=evidence_id,
                        case_id=request.case_id,
                        service_id=request.service_id,
                        registers=list(request.registers),
                        purpose=request.purpose,
                        legal_basis=request.legal_basis,
                        requester=request.requester,
                        released_at=now,
                    ),
                    subject=request.case_id,
                )
                return response

    async def _evidence(
        self,
        session: AsyncSession,
        resident: dict[str, object],
        registers: list[str],
        evidence_id: str,
    ) -> EvidenceResponse:
        address, district, zone, cars = None, "", "", []
        if "melderegister" in registers:
            address = Address(
                street=str(resident["street"]),
                house_number=str(resident["house_number"]),
                postal_code=str(resident["postal_code"]),
                city=str(resident["city"]),
            )
            district, zone = str(resident["stadtbezirk"]), str(resident["parkzone"])
        if "fahrzeugregister" in registers:
            rows = (
                await session.execute(
                    sa.select(vehicles)
                    .where(vehicles.c.holder_id == resident["id"])
                    .order_by(vehicles.c.kennzeichen)
                )
            ).mappings()
            cars = [
                Vehicle(
                    kennzeichen=r["kennzeichen"],
                    make=r["make"],
                    model=r["model"],
                    holder_since=r["holder_since"],
                )
                for r in rows
            ]
        return EvidenceResponse(
            released=True,
            message="",
            evidence_id=evidence_id,
            address=address,
            stadtbezirk=district,
            parkzone=zone,
            vehicles=cars,
        )

    async def transparency(self, query: TransparencyQuery) -> TransparencyLog:
        """Every exchange that concerns the person of this account, newest first."""
        async with self.kernel.db.session() as session:
            resident = await self._resident(session, query.person)
            condition = transparency_log.c.account_id == query.account_id
            if resident is not None:
                condition = sa.or_(condition, transparency_log.c.resident_id == resident["id"])
            rows = (
                await session.execute(
                    sa.select(transparency_log).where(condition).order_by(transparency_log.c.seq.desc())
                )
            ).mappings()
            return TransparencyLog(
                entries=[
                    TransparencyEntry(
                        at=r["at"],
                        requester=r["requester"],
                        purpose=r["purpose"],
                        legal_basis=r["legal_basis"],
                        registers=list(r["registers"]),
                        case_id=r["case_id"],
                        released=r["released"],
                    )
                    for r in rows
                ]
            )

    async def lookup_address(self, query: AddressQuery) -> AddressInfo:
        """Stadtbezirk and parking zone of an address, from the street directory (no personal data).

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
            return AddressInfo(found=False, message=MSG_ADDRESS_UNKNOWN)
        ((district, zone),) = places
        return AddressInfo(found=True, stadtbezirk=district, parkzone=zone)

    async def statistics(self) -> list[dict[str, object]]:
        """Exchanges per register set and outcome: no personal data."""
        async with self.kernel.db.session() as session:
            rows = (
                await session.execute(
                    sa.select(
                        transparency_log.c.purpose, transparency_log.c.released, sa.func.count()
                    ).group_by(transparency_log.c.purpose, transparency_log.c.released)
                )
            ).all()
        return [{"purpose": p, "released": r, "count": n} for p, r, n in rows]
