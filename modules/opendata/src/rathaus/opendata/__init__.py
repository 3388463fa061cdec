"""Open-data portal: anonymised statistics with a CKAN-compatible API and DCAT-AP.de metadata.

Consumes ``CaseOpened`` (E-Akte) and ``DecisionDelivered`` (output management), both of
data class internal; keeps one anonymous fact per case (service, Stadtbezirk, months,
outcome, processing time in whole hours) and publishes one dataset per service, as its
procedure files' ``[open_data]`` describe it, computed from them after disclosure control
across its tables. Consumes ``PaymentCompleted`` (platform) and ``ClaimRefunded``
(E-Akte), internal too; keeps per case whose fee was paid online its payment method and
the months it was paid and refunded, and publishes one dataset of online payments across
services (Zahlungsart × Monat). Emits nothing.
"""

NAME = "opendata"
PREFIX = "/opendaten"
TITLE = "Open Data"
