"""E-Akte (electronic file) and the staff case workspace: file plan, Akte/Vorgang/Dokument,
audit trail, decisions (clerk, automatic § 35a VwVfG, fiction § 42a VwVfG), co-signing.

Consumes ``ApplicationSubmitted`` v2 (and v1, upcast), ``DocumentRouted``,
``RequestDecision``, ``DecisionOverdue``, ``FictionReached``, ``DecisionDelivered``, the
payment events ``PaymentRequested``/``PaymentCompleted``/``PaymentFailed``/``PaymentsSettled``
and ``AppointmentBooked``/``AppointmentCancelled``; emits ``CaseOpened``, ``DocumentFiled``,
``DecisionMade`` v2, ``ClaimCreated``, ``ClaimRefunded`` and ``AppointmentCheckedIn``.
"""

NAME = "eakte"
PREFIX = "/arbeitsplatz"
TITLE = "Arbeitsplatz"
