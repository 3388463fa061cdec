"""Use cases of the citizens' portal: accounts, the application form, what comes back."""

from __future__ import annotations

from rathaus.portal.handlers.accounts import Accounts
from rathaus.portal.handlers.forms import MSG_BROKER_DOWN, Forms
from rathaus.portal.handlers.tracking import Tracking


class Portal(Accounts, Forms, Tracking):
    """Every use case of the portal, on one kernel."""


__all__ = ["MSG_BROKER_DOWN", "Portal"]
