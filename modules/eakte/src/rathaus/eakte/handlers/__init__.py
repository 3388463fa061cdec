"""Use cases of the E-Akte: open cases, file documents, decide (clerk, automatic, fiction),
co-sign, authenticate staff, show the workspace."""

from __future__ import annotations

from rathaus.eakte.handlers.appointments import AppointmentHandlers
from rathaus.eakte.handlers.bekanntgabe import BekanntgabeHandlers
from rathaus.eakte.handlers.decisions import DecisionHandlers
from rathaus.eakte.handlers.geschaeftsgang import GangHandlers
from rathaus.eakte.handlers.kasse import ReconciliationHandlers
from rathaus.eakte.handlers.postkorb import MessageRefused, PostkorbHandlers
from rathaus.eakte.handlers.staff import StaffHandlers
from rathaus.eakte.handlers.wiedervorlage import WiedervorlageHandlers
from rathaus.eakte.handlers.workspace import WorkspaceQueries


class EAkte(
    GangHandlers,
    DecisionHandlers,
    PostkorbHandlers,
    ReconciliationHandlers,
    AppointmentHandlers,
    StaffHandlers,
    WiedervorlageHandlers,
    WorkspaceQueries,
    BekanntgabeHandlers,
):
    """Every use case of the E-Akte, on one kernel."""


__all__ = ["EAkte", "MessageRefused"]
