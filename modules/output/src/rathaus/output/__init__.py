"""Output management: renders the Bescheid (decision) of any service from its procedure
version as PDF/A, seals it, delivers it (Postkorb, e-mail, or only the E-Akte) and notifies
the other authorities a procedure names.

Consumes ``DecisionMade`` (v2, and v1 upcast) and ``DeliverDecision``; emits
``DecisionDelivered`` and ``AuthorityNotified``."""

NAME = "output"
PREFIX = "/postausgang"
TITLE = "Postausgang"
