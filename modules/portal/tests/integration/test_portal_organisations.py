"""Organisation accounts at the handlers: the portal module on a real nats-server with its
SQLite file or on PostgreSQL, invitations through a real SMTP server (the mail sink of
``rathaus up``)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from rathaus.contracts.common import Address, Person
from rathaus.contracts.common_v2 import Organisation, Party
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.platform.kernel import Kernel, Settings
from rathaus.portal.bootstrap import bootstrap
from rathaus.portal.domain import Account
from rathaus.portal.domain.organisations import (
    MSG_ALREADY_INVITED,
    MSG_ALREADY_MEMBER,
    MSG_LAST_ADMIN,
    Membership,
)
from rathaus.portal.handlers import Invalid, NotAllowed, Portal
from rathaus.portal.store import applications, invitations, organisation_audit

MUSTERBAU = {
    "name": "Musterbau GmbH",
    "legal_form": "GmbH",
    "register_number": "HRB 123456",
    "street": "Zenettistraße",
    "house_number": "12",
    "postal_code": "80337",
    "city": "München",
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def portal(request: pytest.FixtureRequest, settings: Settings, mails: Any) -> AsyncIterator[Portal]:
    """The portal module on its SQLite file, and on PostgreSQL (where the machine has it)."""
    if request.param == "postgresql":
        settings.databases["portal"] = request.getfixturevalue("postgres_url")
    kernel = Kernel("portal", settings)
    app = bootstrap(kernel)
    await kernel.start(app)
    yield Portal(kernel)
    await kernel.stop(app)


async def person(portal: Portal, given_name: str) -> Account:
    account_id = await portal.register(
        email=f"{given_name.lower()}-{uuid.uuid4().hex[:6]}@example.org",
        password="Ein-gutes-Passwort-2026",
        given_name=given_name,
        family_name="Muster",
        birth_date="1980-01-01",
    )
    account = await portal.account(account_id)
    assert account is not None
    return account


async def answer(portal: Portal, who: Account, token: str, accept: bool) -> str:
    """Accept or decline with a token; the invitation's state afterwards ("" for an unknown token)."""
    link = await portal.answer_invitation(who, token, accept=accept)
    return link.state if link is not None else ""


async def join(
    portal: Portal, mails: Any, admin: Account, org: str, who: Account, role: str = "member"
) -> None:
    """``admin`` invites ``who``, who accepts with the link from the e-mail."""
    assert (await portal.invite(admin, org, who.email, role)).mailed
    token = mails.new_token(who.email)
    link = await portal.answer_invitation(who, token, accept=True)
    assert link is not None and link.state == "angenommen"


async def test_what_the_form_asks(portal: Portal) -> None:
    alice, bob = await person(portal, "Alice"), await person(portal, "Bob")
    with pytest.raises(Invalid) as refused:
        await portal.create_organisation(alice, {**MUSTERBAU, "postal_code": "803", "register_number": "123"})
    assert set(refused.value.errors) == {"postal_code", "register_number"}
    org = await portal.create_organisation(alice, MUSTERBAU)
    solo = await portal.create_organisation(
        alice,
        {
            **MUSTERBAU,
            "name": "Alice Muster Malerei",
            "legal_form": "Einzelunternehmen",
            "register_number": "",
        },
    )
    assert await portal.organisations_of(alice) == [
        Membership(solo, "Alice Muster Malerei", "admin"),
        Membership(org, "Musterbau GmbH", "admin"),
    ]
    assert await portal.organisations_of(bob) == []
    assert await portal.acting_for(bob, org) is None  # not a member: may not apply in its name
    assert await portal.acting_for(alice, str(uuid.uuid4())) is None
    acting = await portal.acting_for(alice, org)
    assert acting is not None and acting.role == "admin"
    assert acting.organisation == Organisation(
        organisation_id=org, name="Musterbau GmbH", legal_form="GmbH", register_number="HRB 123456"
    )
    assert acting.address == Address(
        street="Zenettistraße", house_number="12", postal_code="80337", city="München"
    )
    assert acting.applicant(alice) == Party(
        person=Person(given_name="Alice", family_name="Muster", birth_date="1980-01-01"),
        organisation=acting.organisation,
        address=acting.address,
        email=alice.email,
        account_id=alice.account_id,
    )
    assert await portal.organisation_values(org) == {
        "unternehmen.name": ["Musterbau GmbH"],
        "unternehmen.rechtsform": ["GmbH"],
        "unternehmen.registernummer": ["HRB 123456"],
        "unternehmen.strasse": ["Zenettistraße"],
        "unternehmen.hausnummer": ["12"],
        "unternehmen.postleitzahl": ["80337"],
        "unternehmen.ort": ["München"],
    }
    assert "unternehmen.registernummer" not in await portal.organisation_values(solo)
    assert await portal.organisation_values("gibt-es-nicht") == {}


async def test_roles_and_the_last_admin(portal: Portal, mails: Any) -> None:
    alice, bob, carol = [await person(portal, n) for n in ("Alice", "Bob", "Carol")]
    org = await portal.create_organisation(alice, MUSTERBAU)
    await join(portal, mails, alice, org, bob)
    # a member sees, but changes nothing
    page = await portal.organisation_page(bob, org)
    assert (
        page is not None
        and page.role == "member"
        and [m.name for m in page.members]
        == [
            "Alice Muster",
            "Bob Muster",
        ]
    )
    for change in (
        portal.invite(bob, org, "dritte@example.org", "member"),
        portal.remove_member(bob, org, alice.account_id),
        portal.change_role(bob, org, bob.account_id, "admin"),
        portal.update_organisation(bob, org, {**MUSTERBAU, "name": "Bob GmbH"}),
    ):
        with pytest.raises(NotAllowed, match="Administration"):
            await change
    assert await portal.open_invitations(bob, org) == []  # admins only: they hold addresses
    # a non-member sees nothing and changes nothing
    assert await portal.organisation_page(carol, org) is None
    for change in (
        portal.invite(carol, org, carol.email, "admin"),
        portal.remove_member(carol, org, bob.account_id),
        portal.remove_member(carol, org, carol.account_id),
        portal.change_role(carol, org, carol.account_id, "admin"),
    ):
        with pytest.raises(NotAllowed, match="nicht Mitglied"):
            await change
    # the only admin can neither step down nor leave
    for change in (
        portal.change_role(alice, org, alice.account_id, "member"),
        portal.remove_member(alice, org, alice.account_id),
    ):
        with pytest.raises(Invalid) as refused:
            await change
        assert refused.value.errors == {"antrag": MSG_LAST_ADMIN}
    await portal.change_role(alice, org, bob.account_id, "admin")
    await portal.remove_member(alice, org, alice.account_id)  # now she may leave
    assert await portal.acting_for(alice, org) is None
    page = await portal.organisation_page(bob, org)
    assert page is not None and page.admin and [m.name for m in page.members] == ["Bob Muster"]
    await portal.update_organisation(
        bob, org, {**MUSTERBAU, "name": "Musterbau Bob GmbH", "city": "Muenchen"}
    )
    page = await portal.organisation_page(bob, org)
    assert page is not None
    assert [(e.action, e.actor, e.concerns, e.detail) for e in reversed(page.audit)] == [
        ("Unternehmenskonto angelegt", "Alice Muster", "", ""),
        ("Einladung verschickt", "Alice Muster", "eine Einladung", "Mitglied"),
        ("Einladung angenommen", "Bob Muster", "Bob Muster", "Mitglied"),
        ("Rolle geändert", "Alice Muster", "Bob Muster", "Mitglied → Administration"),
        ("Mitgliedschaft beendet", "Alice Muster", "Alice Muster", "Administration"),
        ("Daten geändert", "Bob Muster", "", "Name des Unternehmens, Ort"),
    ]
    async with portal.kernel.db.read() as s:
        logged = (await s.execute(sa.select(organisation_audit))).all()
    assert logged and not any("@" in str(value) for row in logged for value in row)


async def test_an_invitation_works_once_and_only_for_its_address(portal: Portal, mails: Any) -> None:
    alice, bob, carol = [await person(portal, n) for n in ("Alice", "Bob", "Carol")]
    org = await portal.create_organisation(alice, MUSTERBAU)
    invited = await portal.invite(alice, org, bob.email.upper(), "admin")
    assert invited.mailed
    token = mails.new_token(bob.email)
    [mail] = mails.to(bob.email)
    assert "Musterbau GmbH" in mail.get_payload(decode=True).decode() and mail["Subject"].startswith(
        "Einladung"
    )
    async with portal.kernel.db.read() as s:
        stored = (await s.execute(sa.select(invitations))).mappings().one()
    assert token not in str(dict(stored)) and len(token) >= 43  # only the hash is kept
    # a second invitation of the same address while one is open, and one of a member
    with pytest.raises(Invalid) as refused:
        await portal.invite(alice, org, bob.email, "member")
    assert refused.value.errors == {"email": MSG_ALREADY_INVITED}
    with pytest.raises(Invalid) as refused:
        await portal.invite(alice, org, alice.email, "member")
    assert refused.value.errors == {"email": MSG_ALREADY_MEMBER}
    # anyone else holding the link changes nothing
    link = await portal.answer_invitation(carol, token, accept=True)
    assert link is not None and link.state == "offen" and not link.for_this_account
    assert await portal.acting_for(carol, org) is None
    link = await portal.invitation(token, None)
    assert link is not None and link.organisation_name == "Musterbau GmbH" and not link.for_this_account
    # the invited address accepts once
    link = await portal.answer_invitation(bob, token, accept=True)
    assert link is not None and link.state == "angenommen" and link.already_member
    acting = await portal.acting_for(bob, org)
    assert acting is not None and acting.role == "admin"
    again = await portal.answer_invitation(bob, token, accept=False)  # used: declining changes nothing
    assert again is not None and again.state == "angenommen"
    assert await portal.acting_for(bob, org) is not None
    assert await portal.answer_invitation(bob, "erfunden", accept=True) is None
    assert await portal.invitation("erfunden", bob) is None

    # declined, withdrawn and expired invitations cannot be used
    await portal.invite(alice, org, carol.email, "member")
    declined = mails.new_token(carol.email)
    link = await portal.answer_invitation(carol, declined, accept=False)
    assert link is not None and link.state == "abgelehnt"
    assert await answer(portal, carol, declined, True) == "abgelehnt"
    assert await portal.acting_for(carol, org) is None
    dave = await person(portal, "Dave")
    withdrawn = await portal.invite(alice, org, dave.email, "member")
    await portal.withdraw_invitation(alice, org, withdrawn.invitation_id)
    token = mails.new_token(dave.email)
    assert await answer(portal, dave, token, True) == "zurueckgezogen"
    late = await portal.invite(alice, org, dave.email, "member")
    token = mails.new_token(dave.email)
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    async with portal.kernel.db.session() as s:
        await s.execute(
            invitations.update()
            .where(invitations.c.invitation_id == late.invitation_id)
            .values(expires_at=past)
        )
    assert await answer(portal, dave, token, True) == "abgelaufen"
    assert [i.state for i in await portal.open_invitations(alice, org)] == ["abgelaufen"]
    # sent again: a new link valid seven days, the old one no longer
    assert await portal.resend_invitation(alice, org, late.invitation_id)
    fresh = mails.new_token(dave.email)
    assert await portal.answer_invitation(dave, token, accept=True) is None
    assert await answer(portal, dave, fresh, True) == "angenommen"
    assert await portal.acting_for(dave, org) is not None


async def test_an_invitation_is_kept_while_the_mail_server_is_down(
    portal: Portal, mails: Any, caplog: pytest.LogCaptureFixture
) -> None:
    alice, bob = await person(portal, "Alice"), await person(portal, "Bob")
    org = await portal.create_organisation(alice, MUSTERBAU)
    mails.stop()
    with caplog.at_level(logging.WARNING):
        invited = await portal.invite(alice, org, bob.email, "member")
        assert not invited.mailed
        assert not await portal.resend_invitation(alice, org, invited.invitation_id)
    assert "could not be mailed" in caplog.text and bob.email not in caplog.text
    [kept] = await portal.open_invitations(alice, org)
    assert kept.email == bob.email and not kept.mail_sent and kept.state == "offen"
    mails.start()
    assert await portal.resend_invitation(alice, org, invited.invitation_id)
    [kept] = await portal.open_invitations(alice, org)
    assert kept.mail_sent
    link = await portal.answer_invitation(bob, mails.new_token(bob.email), accept=True)
    assert link is not None and link.state == "angenommen"


async def test_members_see_their_organisations_cases_and_nobody_else_does(portal: Portal, mails: Any) -> None:
    alice, bob, carol = [await person(portal, n) for n in ("Alice", "Bob", "Carol")]
    org = await portal.create_organisation(alice, MUSTERBAU)
    await join(portal, mails, alice, org, bob)
    own, for_org, carols = (str(uuid.uuid4()) for _ in range(3))
    moment = datetime.now(UTC).isoformat()
    async with portal.kernel.db.session() as s:  # as the submission records them
        for case_id, account, organisation_id in (
            (own, alice, None),
            (for_org, alice, org),
            (carols, carol, None),
        ):
            await s.execute(
                applications.insert().values(
                    case_id=case_id,
                    account_id=account.account_id,
                    service_id="bewohnerparkausweis",
                    status="eingegangen",
                    submitted_at=moment,
                    organisation_id=organisation_id,
                )
            )
    assert {r["case_id"] for r in await portal.applications_of(alice)} == {own, for_org}
    assert [(r["case_id"], r["organisation_name"]) for r in await portal.applications_of(bob)] == [
        (for_org, "Musterbau GmbH")
    ]
    assert [r["case_id"] for r in await portal.applications_of(carol)] == [carols]
    assert await portal.application(bob, for_org) is not None
    assert await portal.application(bob, own) is None and await portal.application(carol, for_org) is None

    ref = await portal.kernel.blobs.put("output", b"%PDF-1.7 Bescheid", media_type="application/pdf")
    for case_id in (own, for_org):
        async with portal.kernel.transaction() as uow:
            await portal.on_delivered(
                DecisionDelivered(
                    case_id=case_id,
                    aktenzeichen="523.11-2026-000042",
                    service_id="bewohnerparkausweis",
                    outcome="granted",
                    document=ref,
                    channel="postkorb",
                    sent_at=moment,
                    bekanntgabe="2026-11-26",
                ),
                uow,
            )
    [entry] = await portal.postkorb_of(bob)
    assert entry["organisation_id"] == org and entry["organisation_name"] == "Musterbau GmbH"
    assert {e["case_id"] for e in await portal.postkorb_of(alice)} == {own, for_org}
    assert await portal.postkorb_of(carol) == []
    assert (await portal.account_and_unread(bob.account_id))[1] == 1
    assert (await portal.account_and_unread(alice.account_id))[1] == 2
    assert await portal.open_entry(carol, entry["entry_id"]) is None
    opened = await portal.open_entry(bob, entry["entry_id"])
    assert opened is not None and opened[1] == b"%PDF-1.7 Bescheid"
    # read for the organisation: by any member, once
    assert (await portal.account_and_unread(alice.account_id))[1] == 1
    # who leaves the organisation no longer sees its cases, even those they applied for
    await portal.change_role(alice, org, bob.account_id, "admin")
    await portal.remove_member(bob, org, alice.account_id)
    assert [r["case_id"] for r in await portal.applications_of(alice)] == [own]
    assert [e["case_id"] for e in await portal.postkorb_of(alice)] == [own]
    assert await portal.open_entry(alice, entry["entry_id"]) is None
    assert (await portal.account_and_unread(alice.account_id))[1] == 1
