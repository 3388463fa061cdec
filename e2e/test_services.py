"""Every online service of the demo city, data only, from its application over the JSON API
to its Bescheid in the Postkorb, with the Bescheid's content and the open-data counts:
one platform (`rathaus up`) for the module, a fresh case per service."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from e2e.city import City, create_organisation, example, started
from rathaus.platform.kernel.procedures import Inputs, judge
from rathaus.platform.kernel.procedures.display import format_value
from rathaus.platform.testing import EmbeddedPlatform, IntegratorClient, eventually

pytestmark = [pytest.mark.e2e]
FICTION_SECONDS = 25.0  # the Reisegewerbekarte's three months, scaled


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPlatform]:
    # 90 days -> 25 s; in containers with RATHAUS_E2E_BACKEND=containers (e2e/containers.py)
    yield from started(tmp_path_factory, deadline_scale=FICTION_SECONDS / (90 * 86400), containers=True)


def computed(city: City, service_id: str, body: dict[str, Any], name: str) -> str:
    """A value the rule engine computes for the example (a fee, a tax, a pickup day), as
    the Bescheid prints it."""
    definition = city.procedures.current(service_id)
    assert definition is not None
    files = {n["art"]: n for n in body.get("nachweise", [])}
    result = judge(definition, Inputs(values=body["angaben"], files=files))
    value = result.data[name]
    return format_value(definition, definition.node(name), value)


# service -> (what the Bescheid must say, computed values it must print)
EXPECTED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "bewohnerparkausweis": (("M-AB 1234", "Schlachthofviertel", "Rechtsbehelfsbelehrung"), ()),
    "wohnsitzanmeldung": (("Zenettistraße", "Berger"), ()),
    "hundesteuer": (("Bruno", "Kira", "Rechtsbehelfsbelehrung"), ("jahressteuer",)),
    "sondernutzung": (("Container", "Rechtsbehelfsbelehrung"), ("gebuehr",)),
    "halteverbotszone": (("17.05.2030", "Zenettistraße"), ()),
    "sperrmuell": (("Zenettistraße",), ("abholtermin",)),
    "fundsache": (("Geldbörse", "Westpark"), ()),
    "meldebescheinigung": (("Mustermann", "Zenettistraße", "12.08.1964"), ()),
}


async def carry(
    city: City, service_id: str, body: dict[str, Any] | None = None, **apply: Any
) -> tuple[str, str]:
    """One case of a service through every module; (its Bescheid's text, its Aktenzeichen)."""
    definition = city.procedures.current(service_id)
    assert definition is not None
    proc = definition.procedure
    body = body or example(definition)
    http = await city.citizen()
    try:
        case_id = await city.apply(http, {**body, **apply})
        applied = time.monotonic()
        fee = definition.fee_cents(judge(definition, Inputs(values=body["angaben"])).data) > 0
        if fee and proc.fee.payment == "before":  # processing starts when it is paid
            await city.pay(http, case_id)
        if proc.appointment:  # a visit is needed: booked for the case, checked in by staff
            await city.visit(http, case_id, service_id)
        if proc.decision.mode == "clerk" and not proc.decision.fiction_days:
            for unit in proc.decision.cosign:
                await city.cosign(unit, case_id)
            await city.decide(proc.unit, case_id)
        if fee and proc.fee.payment == "after_decision":  # the permit is released when paid
            await city.pay(http, case_id)
        delivered = await city.delivered(case_id)
        print(f"{service_id}: delivered {time.monotonic() - applied:.1f} s after its submission")
        assert delivered["channel"] == "postkorb" and delivered["service_id"] == service_id
        text = await city.bescheid(http, delivered["aktenzeichen"])
    finally:
        await http.aclose()
    assert delivered["aktenzeichen"] in text and "Landeshauptstadt München" in text
    assert proc.open_data is not None
    totals = await city.counted(proc.open_data.dataset)
    assert totals["antraege"] or totals["antraege_gesperrt"]
    return text, delivered["aktenzeichen"]


@pytest.mark.parametrize("service_id", sorted(EXPECTED))
async def test_a_service_from_application_to_postkorb(city: City, service_id: str) -> None:
    definition = city.procedures.current(service_id)
    assert definition is not None
    body = example(definition)
    if any(n.element.prefill_mode == "required" for n in definition.fields()):
        # data that only a register may give (the Meldebescheinigung): fetched on request first
        http = await city.citizen()
        try:
            r = await http.post("/api/registerdaten", json={"service_id": service_id})
            assert r.status_code == 200 and r.json()["freigegeben"], r.text
            body["registerdaten"] = r.json()["registerdaten"]
        finally:
            await http.aclose()
    text, _ = await carry(city, service_id, body)
    words, values = EXPECTED[service_id]
    for expected in (*words, *(computed(city, service_id, body, name) for name in values)):
        assert expected in text, (service_id, expected, text[:2000])


async def test_a_business_registers_its_trade_and_the_authorities_hear_of_it(
    city: City, platform: EmbeddedPlatform
) -> None:
    http = await city.citizen()
    try:
        organisation = await create_organisation(http, "Radlwerk Isarvorstadt GmbH")
    finally:
        await http.aclose()
    definition = city.procedures.current("gewerbeanmeldung")
    assert definition is not None
    # the authorities' side: a client with the platform's rights (personal data)
    authorities = IntegratorClient()
    await authorities.connect(**platform.nats_credentials("rathaus"))
    try:
        text, aktenzeichen = await carry(city, "gewerbeanmeldung", im_namen_von=organisation)
        assert "Radlwerk Isarvorstadt GmbH" in text

        def notified() -> list[dict[str, Any]]:
            return [
                e.json()["data"]
                for e in authorities.events
                if e.subject == "rathaus.output.notification.sent.v1"
                and e.json()["data"]["aktenzeichen"] == aktenzeichen
            ]

        async def all_notified() -> bool:
            return len(notified()) == len(definition.procedure.forward)

        await eventually(all_notified, timeout=60)
    finally:
        await authorities.close()
    for forward in definition.procedure.forward:
        sent = next(n for n in notified() if n["recipient"] == forward.recipient)
        assert set(sent["data"]) <= set(forward.fields) and sent["legal_basis"] == forward.legal_basis
    # personal data: never for integrators
    assert not [e for e in city.integrator.events if "output.notification.sent" in e.subject]


async def test_the_permit_counts_as_granted_when_nobody_decides_in_time(city: City) -> None:
    """Reisegewerbekarte: no clerk decides; when the deadline passes the workflow's timer
    fires and the Genehmigungsfiktion (§ 42a VwVfG) is certified."""
    text, _ = await carry(city, "reisegewerbekarte")
    assert "42a" in text and "Genehmigungsfiktion" in text


async def test_three_pickups_are_counted_without_suppression(city: City) -> None:
    definition = city.procedures.current("sperrmuell")
    assert definition is not None and definition.procedure.open_data is not None
    for _ in range(3):
        await carry(city, "sperrmuell")
    totals = await city.counted(definition.procedure.open_data.dataset)
    assert totals["antraege"] >= 3 and totals["bewilligt"] >= 3, totals


def test_every_online_service_is_carried_here() -> None:
    from rathaus.platform.kernel.procedures import Procedures

    online = {d.id for d in Procedures.load().online()}
    assert online == {*EXPECTED, "gewerbeanmeldung", "reisegewerbekarte"}, online
