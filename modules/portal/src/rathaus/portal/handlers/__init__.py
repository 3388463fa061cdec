"""Use cases of the citizens' portal: accounts, the application form, what comes back."""

from __future__ import annotations

from rathaus.portal.handlers.accounts import Accounts
from rathaus.portal.handlers.forms import MSG_BROKER_DOWN
from rathaus.portal.handlers.submission import (
    ApplicationRefused,
    CaseIdTaken,
    Received,
    Submissions,
    SubmitApplication,
    Upload,
)
from rathaus.portal.handlers.tracking import Tracking


class Portal(Accounts, Submissions, Tracking):
    """Every use case of the portal, on one kernel (``Submissions`` includes the form's ``Forms``)."""


__all__ = [
    "MSG_BROKER_DOWN",
    "ApplicationRefused",
    "CaseIdTaken",
    "Portal",
    "Received",
    "SubmitApplication",
    "Upload",
]
