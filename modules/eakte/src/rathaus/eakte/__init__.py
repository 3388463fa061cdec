"""E-Akte (electronic file) and the staff case workspace: file plan, Akte/Vorgang/Dokument,
audit trail, decisions (clerk, automatic § 35a VwVfG, fiction § 42a VwVfG), co-signing.

Consumes ``ApplicationSubmitted`` v2 (and v1, upcast), ``DocumentRouted``,
``RequestDecision``, ``DecisionOverdue``, ``FictionReached``, ``DecisionDelivered``;
emits ``CaseOpened``, ``DocumentFiled`` and ``DecisionMade`` v2.
"""

NAME = "eakte"
PREFIX = "/arbeitsplatz"
TITLE = "Arbeitsplatz"
