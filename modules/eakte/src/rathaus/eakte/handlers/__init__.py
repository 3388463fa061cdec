"""Use cases of the E-Akte: open cases, file documents, decide (clerk, automatic, fiction),
co-sign, authenticate staff, show the workspace."""

from __future__ import annotations

from rathaus.eakte.handlers.abgabe import AbgabeHandlers
from rathaus.eakte.handlers.aktenplan import AktenplanHandlers, PlanRefused
from rathaus.eakte.handlers.appointments import AppointmentHandlers
from rathaus.eakte.handlers.aussonderung import AussonderungHandlers
from rathaus.eakte.handlers.bekanntgabe import BekanntgabeHandlers
from rathaus.eakte.handlers.datenschutz import DatenschutzHandlers
from rathaus.eakte.handlers.decisions import DecisionHandlers
from rathaus.eakte.handlers.geschaeftsgang import GangHandlers
from rathaus.eakte.handlers.integrity import IntegrityChecks
from rathaus.eakte.handlers.kasse import ReconciliationHandlers
from rathaus.eakte.handlers.lifecycle import LifecycleHandlers
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
    IntegrityChecks,
    AbgabeHandlers,
    DatenschutzHandlers,
    LifecycleHandlers,
    AktenplanHandlers,
    AussonderungHandlers,
):
    """Every use case of the E-Akte, on one kernel."""


__all__ = ["EAkte", "MessageRefused", "PlanRefused"]
