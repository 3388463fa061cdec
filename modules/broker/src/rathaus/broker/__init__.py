"""Data broker (once-only): register evidence on the citizen's explicit request, purpose-bound and logged."""

NAME = "broker"
PREFIX = "/datenvermittlung"
TITLE = "Datenvermittlung"
