"""Use cases of the citizens' portal: accounts, the application form, what comes back."""

from __future__ import annotations

from rathaus.portal.handlers.abrufe import Retrievals
from rathaus.portal.handlers.accounts import Accounts
from rathaus.portal.handlers.appointments import Appointments, Booked, HoldExpired, Refused
from rathaus.portal.handlers.forms import MSG_BROKER_DOWN
from rathaus.portal.handlers.identity import Arrival, Arrived, IdentityRefused
from rathaus.portal.handlers.identity_saml import SamlIdentity
from rathaus.portal.handlers.invitations import InvitationLink, Invitations, Invited, OpenInvitation
from rathaus.portal.handlers.members import Member, Members, OrganisationPage
from rathaus.portal.handlers.organisations import ActingFor, Invalid, NotAllowed, Organisations
from rathaus.portal.handlers.passkeys import Passkeys
from rathaus.portal.handlers.payments import Payments, PaymentState
from rathaus.portal.handlers.postkorb import Messages, ReplyRefused, ThreadNotFound
from rathaus.portal.handlers.submission import (
    ApplicationRefused,
    CaseIdTaken,
    Received,
    Submissions,
    SubmitApplication,
    Upload,
)
from rathaus.portal.handlers.tracking import Tracking


class Portal(
    Accounts,
    Submissions,
    Tracking,
    Organisations,
    Members,
    Invitations,
    Payments,
    Appointments,
    SamlIdentity,
    Passkeys,
    Messages,
    Retrievals,
):
    """Every use case of the portal, on one kernel (``Submissions`` includes the form's ``Forms``;
    ``Organisations`` has what the form asks about the businesses a member acts for)."""


__all__ = [
    "MSG_BROKER_DOWN",
    "ActingFor",
    "ApplicationRefused",
    "Arrival",
    "Arrived",
    "Booked",
    "CaseIdTaken",
    "HoldExpired",
    "IdentityRefused",
    "Invalid",
    "InvitationLink",
    "Invited",
    "Member",
    "NotAllowed",
    "OpenInvitation",
    "OrganisationPage",
    "PaymentState",
    "Portal",
    "Received",
    "Refused",
    "ReplyRefused",
    "SubmitApplication",
    "ThreadNotFound",
    "Upload",
]
