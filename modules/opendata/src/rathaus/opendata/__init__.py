"""Open-data portal: anonymised statistics with a CKAN-compatible API and DCAT-AP.de metadata.

Consumes ``CaseOpened`` (E-Akte) and ``DecisionDelivered`` (output management), both of
data class internal; keeps one anonymous fact per case (service, Stadtbezirk, months,
outcome) and publishes datasets computed from them after disclosure control. Emits nothing.
"""

NAME = "opendata"
PREFIX = "/opendaten"
TITLE = "Open Data"
