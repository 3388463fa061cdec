"""E-Akte (electronic file) and the staff case workspace: file plan, Akte/Vorgang/Dokument, audit trail, decisions."""

NAME = "eakte"
PREFIX = "/arbeitsplatz"
TITLE = "Arbeitsplatz"
