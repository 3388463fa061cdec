"""Use cases of the E-Akte: open cases, file documents, decide (clerk, automatic, fiction),
co-sign, authenticate staff, show the workspace."""

from __future__ import annotations

from rathaus.eakte.handlers.appointments import AppointmentHandlers
from rathaus.eakte.handlers.aussonderung import AussonderungHandlers
from rathaus.eakte.handlers.bekanntgabe import BekanntgabeHandlers
from rathaus.eakte.handlers.decisions import DecisionHandlers
from rathaus.eakte.handlers.kasse import ReconciliationHandlers
from rathaus.eakte.handlers.postkorb import MessageRefused, PostkorbHandlers
from rathaus.eakte.handlers.staff import StaffHandlers
from rathaus.eakte.handlers.workspace import WorkspaceQueries


class EAkte(
    DecisionHandlers,
    PostkorbHandlers,
    ReconciliationHandlers,
    AppointmentHandlers,
    StaffHandlers,
    WorkspaceQueries,
    BekanntgabeHandlers,
    AussonderungHandlers,
):
    """Every use case of the E-Akte, on one kernel."""


__all__ = ["EAkte", "MessageRefused"]
