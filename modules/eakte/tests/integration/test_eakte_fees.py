"""Fees in the E-Akte on the real bus: the Forderung a case gets when it is opened, its
payment attempts from the workflow's events (in any order, a late PAYED included), the
receipt filed as a document, a refund after a refusal approved by a second person, and
the reconciliation of a day's transactions with each exception listed once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import sqlalchemy as sa

from rathaus.contracts.common import BlobRef
from rathaus.contracts.platform.v1 import (
    PaymentCompleted,
    PaymentFailed,
    PaymentRequested,
    PaymentsSettled,
    SettledTransaction,
)
from rathaus.eakte import PREFIX
from rathaus.eakte.domain import valid_kassenzeichen
from rathaus.eakte.store import abgleich, documents, forderungen, zahlungen
from rathaus.platform.testing import eventually

PAID_AT = "2026-11-24T09:30:00+00:00"
UNIT = "KVR-III/11"  # the Halteverbotszone's unit


async def claim_of(office: Any, case_id: str) -> dict[str, Any]:
    return await office.wait_for("claim.created.v1", case_id)


async def state(office: Any, case_id: str) -> str:
    async with office.eakte.db.read() as s:
        return str(
            (await s.execute(sa.select(forderungen.c.state).where(forderungen.c.case_id == case_id))).scalar()
        )


async def until_state(office: Any, case_id: str, wanted: str) -> None:
    async def there() -> bool:
        return await state(office, case_id) == wanted

    await eventually(there, timeout=30)


async def pay(
    office: Any, claim: dict[str, Any], tx: str, attempt: int = 1, amount: int | None = None
) -> None:
    await office.emit(
        office.workflow,
        PaymentCompleted(
            case_id=claim["case_id"],
            claim_id=claim["claim_id"],
            attempt=attempt,
            transaction_id=tx,
            kassenzeichen=claim["kassenzeichen"],
            amount_cents=claim["amount_cents"] if amount is None else amount,
            payment_method="CREDITCARD",
            paid_at=PAID_AT,
        ),
        claim["case_id"],
    )


async def test_a_claim_its_attempts_and_the_receipt(office: Any, clerk_of: Callable[..., Any]) -> None:
    case_id = await office.submit("halteverbotszone", {})
    opened = await office.wait_for("case.opened.v1", case_id)
    claim = await claim_of(office, case_id)
    assert claim["amount_cents"] == 3000 and claim["payment"] == "after_decision"
    assert valid_kassenzeichen(claim["kassenzeichen"])
    assert len(claim["purpose"]) <= 27 and claim["kassenzeichen"] in claim["purpose"]
    assert opened["aktenzeichen"] in claim["description"] and "Halteverbot" in claim["description"]
    assert "Mustermann" not in claim["description"]
    [line] = claim["lines"]
    assert (line["tariff"], line["haushaltsstelle"], line["objektnummer"]) == (
        "halteverbotszone",
        "1100.1112",
        "51531001",
    )
    base = {"case_id": case_id, "claim_id": claim["claim_id"], "kassenzeichen": claim["kassenzeichen"]}
    # attempt 1 fails; attempt 2's result overtakes its request
    for event in (
        PaymentRequested(
            **base,
            attempt=1,
            transaction_id="tx-1",
            transaction_url="http://pay/1",
            amount_cents=3000,
            requested_at=PAID_AT,
            expires_at=PAID_AT,
        ),
        PaymentFailed(
            case_id=case_id,
            claim_id=claim["claim_id"],
            attempt=1,
            transaction_id="tx-1",
            status="CANCELED",
            at=PAID_AT,
        ),
    ):
        await office.emit(office.workflow, event, case_id)
    await pay(office, claim, "tx-2", attempt=2)
    await office.emit(
        office.workflow,
        PaymentRequested(
            **base,
            attempt=2,
            transaction_id="tx-2",
            transaction_url="http://pay/2",
            amount_cents=3000,
            requested_at=PAID_AT,
            expires_at=PAID_AT,
        ),
        case_id,
    )
    await until_state(office, case_id, "bezahlt")

    async def filed() -> bool:
        return any(e["data"]["document_type"] == "quittung" for e in office.of("document.filed.v1", case_id))

    await eventually(filed, timeout=30)

    async def settled() -> bool:
        async with office.eakte.db.read() as s:
            rows = (
                await s.execute(sa.select(zahlungen).where(zahlungen.c.claim_id == claim["claim_id"]))
            ).all()
        return {(r.transaction_id, r.status, r.requested_at is not None) for r in rows} == {
            ("tx-1", "CANCELED", True),
            ("tx-2", "PAYED", True),
        }

    await eventually(settled, timeout=30)
    async with office.eakte.db.read() as s:
        doc = (
            (
                await s.execute(
                    sa.select(documents).where(
                        documents.c.case_id == case_id, documents.c.document_type == "quittung"
                    )
                )
            )
            .mappings()
            .one()
        )
    pdf = await office.eakte.blobs.get(msgspec.convert(doc["blob"], BlobRef))
    assert pdf.startswith(b"%PDF")
    assert (
        claim["kassenzeichen"] in doc["text"] and "30,00 EUR" in doc["text"] and "Kreditkarte" in doc["text"]
    )

    clerk = await clerk_of(UNIT)
    page = (await clerk.http.get(f"{PREFIX}/vorgaenge/{case_id}")).text
    for expected in (
        claim["kassenzeichen"],
        "1100.1112",
        "Bezahlt",
        "Abgebrochen",
        "tx-2",
        "Zahlungsbestätigung",
    ):
        assert expected in page, expected


async def test_a_late_payed_after_failed_is_applied(office: Any) -> None:
    case_id = await office.submit("halteverbotszone", {})
    claim = await claim_of(office, case_id)
    await office.emit(
        office.workflow,
        PaymentFailed(
            case_id=case_id,
            claim_id=claim["claim_id"],
            attempt=1,
            transaction_id="tx-late",
            status="EXPIRED",
            at=PAID_AT,
        ),
        case_id,
    )

    async def failed() -> bool:
        async with office.eakte.db.read() as s:
            found = await s.execute(
                sa.select(zahlungen.c.status).where(zahlungen.c.claim_id == claim["claim_id"])
            )
            return found.scalar() == "EXPIRED"

    await eventually(failed, timeout=30)
    await pay(office, claim, "tx-late")
    await until_state(office, case_id, "bezahlt")
    # a FAILED that comes after the PAYED changes nothing
    await office.emit(
        office.workflow,
        PaymentFailed(
            case_id=case_id,
            claim_id=claim["claim_id"],
            attempt=1,
            transaction_id="tx-late",
            status="FAILED",
            at=PAID_AT,
        ),
        case_id,
    )
    await office.submit("halteverbotszone", {})  # something after it on the bus, to wait for
    async with office.eakte.db.read() as s:
        row = (await s.execute(sa.select(zahlungen).where(zahlungen.c.claim_id == claim["claim_id"]))).one()
    assert row.status == "PAYED" and row.late


async def test_a_refund_after_a_refusal_needs_a_second_person(
    office: Any, clerk_of: Callable[..., Any]
) -> None:
    case_id = await office.submit("halteverbotszone", {})
    claim = await claim_of(office, case_id)
    await pay(office, claim, "tx-r")
    await until_state(office, case_id, "bezahlt")
    first = await clerk_of(UNIT)
    case_page = f"{PREFIX}/vorgaenge/{case_id}"
    await first.post(
        f"{case_page}/entscheidung",
        {"outcome": "refused", "reasons": "Die Straße ist an diesem Tag bereits gesperrt."},
        page=case_page,
    )
    await until_state(office, case_id, "erstattung_offen")
    tasks = (await first.http.get(f"{PREFIX}/erstattungen")).text
    assert claim["kassenzeichen"] in tasks and "Antrag abgelehnt" in tasks
    async with office.eakte.db.read() as s:
        refund_id = (
            await s.execute(sa.text("select refund_id from erstattungen where case_id = :c"), {"c": case_id})
        ).scalar()
    propose = f"{PREFIX}/erstattungen/{refund_id}/vorschlag"
    approve = f"{PREFIX}/erstattungen/{refund_id}/genehmigung"
    r = await first.post(
        propose,
        {"amount": "40,00", "note": "Ablehnung, Gebühr wird erstattet."},
        page=f"{PREFIX}/erstattungen",
    )
    assert "höchstens 30,00 EUR" in r.text
    r = await first.post(propose, {"amount": "30,00", "note": "kurz"}, page=f"{PREFIX}/erstattungen")
    assert "mindestens 20 Zeichen" in r.text
    await first.post(
        propose,
        {"amount": "30,00", "note": "Ablehnung, Gebühr wird erstattet."},
        page=f"{PREFIX}/erstattungen",
    )
    r = await first.post(approve, {}, page=f"{PREFIX}/erstattungen")
    assert "Vier-Augen-Prinzip" in r.text
    assert not office.of("claim.refunded.v1", case_id)
    outsider = await clerk_of("KVR-III/12")
    r = await outsider.post(approve, {}, page=f"{PREFIX}/erstattungen")
    assert r.status_code == 403
    second = await clerk_of(UNIT, "leitung")
    await second.post(approve, {}, page=f"{PREFIX}/erstattungen")
    refunded = await office.wait_for("claim.refunded.v1", case_id)
    assert refunded["amount_cents"] == 3000 and refunded["reason"] == "refused"
    assert refunded["proposed_by"] != refunded["approved_by"]
    await until_state(office, case_id, "erstattet")
    page = (await second.http.get(case_page)).text
    assert "Erstattet" in page
    async with office.eakte.db.read() as s:
        actions = (
            (await s.execute(sa.text("select action from audit where case_id = :c"), {"c": case_id}))
            .scalars()
            .all()
        )
    assert {"erstattung_angelegt", "erstattung_vorgeschlagen", "erstattung_genehmigt"} <= set(actions)


async def test_reconciliation_lists_each_exception_once(office: Any, clerk_of: Callable[..., Any]) -> None:
    matched, twice, under = [await office.submit("halteverbotszone", {}) for _ in range(3)]
    claims = {c: await claim_of(office, c) for c in (matched, twice, under)}
    await pay(office, claims[matched], f"tx-m-{matched}")
    await pay(office, claims[twice], f"tx-t1-{twice}")
    await until_state(office, twice, "bezahlt")
    orphan_tx = f"tx-o-{uuid.uuid4()}"
    day = "2026-11-24"

    def tx(tid: str, kz: str, cents: int) -> SettledTransaction:
        return SettledTransaction(
            transaction_id=tid, kassenzeichen=kz, amount_cents=cents, status="PAYED", paid_at=PAID_AT
        )

    report = PaymentsSettled(
        day=day,
        provider="test-provider",
        transactions=[
            tx(f"tx-m-{matched}", claims[matched]["kassenzeichen"], 3000),
            tx(f"tx-t1-{twice}", claims[twice]["kassenzeichen"], 3000),
            tx(f"tx-t2-{twice}", claims[twice]["kassenzeichen"], 3000),
            tx(f"tx-u-{under}", claims[under]["kassenzeichen"], 2000),
            tx(orphan_tx, "999999999999", 1500),
            SettledTransaction(transaction_id="tx-x", kassenzeichen="", amount_cents=3000, status="CANCELED"),
        ],
        reported_at=PAID_AT,
    )
    # the report twice (a redelivery has the same event id; a second run a new one)
    for _ in range(2):
        await office.emit(office.workflow, report, "")

    async def findings() -> list[tuple[str, str]]:
        async with office.eakte.db.read() as s:
            rows = (
                await s.execute(
                    sa.select(abgleich.c.kind, abgleich.c.transaction_id).where(abgleich.c.day == day)
                )
            ).all()
        return sorted((r.kind, r.transaction_id) for r in rows)

    expected = sorted(
        [
            ("abgeglichen", f"tx-m-{matched}"),
            ("abgeglichen", f"tx-t1-{twice}"),
            ("abgeglichen", f"tx-t2-{twice}"),
            ("doppelt", f"tx-t2-{twice}"),
            ("unterzahlt", f"tx-u-{under}"),
            ("ohne_vorgang", orphan_tx),
        ]
    )

    async def complete() -> bool:
        return await findings() == expected

    await eventually(complete, timeout=30)

    async def both_runs_done() -> bool:
        async with office.eakte.db.read() as s:
            runs = (
                await s.execute(sa.text("select count(*) from audit where action = 'zahlungsabgleich'"))
            ).scalar()
        return runs == 2

    await eventually(both_runs_done, timeout=30)
    assert await findings() == expected  # the second run added nothing
    await until_state(office, twice, "erstattung_offen")  # the double payment is to be refunded

    clerk = await clerk_of(UNIT)
    assert (await clerk.http.get(f"{PREFIX}/zahlungsabgleich")).status_code == 403
    lead = await clerk_of(UNIT, "leitung")
    page = (await lead.http.get(f"{PREFIX}/zahlungsabgleich")).text

    def cells(text: str) -> int:
        return page.count(f'<td class="kern-table__cell">{text}</td>')

    assert cells("Doppelt bezahlt") == cells("Zu wenig bezahlt") == cells("Bezahlt, aber kein Vorgang") == 1
    assert "Bezahlt und zugeordnet" not in page
    export = await lead.http.get(f"{PREFIX}/zahlungsabgleich/export", params={"tag": day})
    assert export.content.startswith("\ufeff".encode())
    rows = export.content.decode("utf-8-sig").splitlines()
    assert rows[0] == "Art;Datum;Kassenzeichen;Haushaltsstelle;Objektnummer;Buchungstext;Betrag (EUR)"
    assert f"Zahlung;24.11.2026;{claims[matched]['kassenzeichen']};1100.1112;51531001;" in export.text
    assert rows[1].endswith(";30,00") and len(rows) == 4  # the three matched payments
    bad = await lead.http.get(f"{PREFIX}/zahlungsabgleich/export", params={"tag": "gestern"})
    assert "Bitte wählen Sie einen Tag" in bad.text
    async with office.eakte.db.read() as s:
        orphan_pk = (
            await s.execute(sa.select(abgleich.c.pk).where(abgleich.c.transaction_id == orphan_tx))
        ).scalar()
    await lead.post(f"{PREFIX}/zahlungsabgleich/{orphan_pk}/geklaert", {}, page=f"{PREFIX}/zahlungsabgleich")
    page = (await lead.http.get(f"{PREFIX}/zahlungsabgleich")).text
    assert "Bezahlt, aber kein Vorgang" not in page and "Doppelt bezahlt" in page
