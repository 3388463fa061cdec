"""Tables of the Aussonderung (eakte_0011_aussonderung): the runs with the archive (one per
xdomea ProzessID), their objects with the archive's appraisal and result, the messages
exchanged, and the deletion log (Löschprotokoll), which is append-only and kept forever."""

from __future__ import annotations

import sqlalchemy as sa

from rathaus.eakte.store import metadata

# one Aussonderung with an archive: state angeboten (0501 sent) -> bewertet (0502 received)
# -> uebergeben (0503 sent) -> abgeschlossen (0506 processed, or nothing to hand over)
aussonderungen = sa.Table(
    "aussonderungen",
    metadata,
    sa.Column("prozess_id", sa.String(36), primary_key=True),
    sa.Column("archiv", sa.String(32), nullable=False),
    sa.Column("verfahren", sa.String(12), nullable=False),  # vierstufig | zweistufig
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("ausloeser", sa.String(32), nullable=False),  # zeitplan | befehl | …
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("angeboten_at", sa.String(40)),  # 0501 sent
    sa.Column("bewertet_at", sa.String(40)),  # 0502 received
    sa.Column("uebergeben_at", sa.String(40)),  # 0503 sent
    sa.Column("bestaetigt_at", sa.String(40)),  # 0506 received
    sa.Column("abgeschlossen_at", sa.String(40)),
)
# an object (Vorgang) of a run: state angeboten | unbewertet | zu_uebergeben | uebergeben |
# ausgesondert | zu_vernichten | vernichtet | import_fehlgeschlagen
aussonderung_objekte = sa.Table(
    "aussonderung_objekte",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("prozess_id", sa.String(36), nullable=False, index=True),
    sa.Column("case_id", sa.String(64), nullable=False, index=True),
    sa.Column("sgo_id", sa.String(36), nullable=False, index=True),  # the xdomea ID (stable per case)
    sa.Column("aktenzeichen", sa.String(40), nullable=False),
    sa.Column("aussonderungsart", sa.String(1), nullable=False),  # of the file plan: A | B | V
    sa.Column("vorschlag", sa.String(1), nullable=False),  # Bewertungsvorschlag sent
    sa.Column("bewertung", sa.String(1)),  # A | V; null: not appraised
    sa.Column("bewertung_quelle", sa.String(12)),  # archiv (0502) | katalog (two-step)
    sa.Column("state", sa.String(24), nullable=False),
    sa.Column("archivkennung", sa.String(200)),
    sa.Column("fehlermeldung", sa.Text),
    sa.Column("erledigt_at", sa.String(40)),  # archived or destroyed
)
# every message sent or received: state bereit (staged, not yet in the transfer) | gesendet |
# verarbeitet | abgelehnt (invalid or unknown; the file was moved aside)
aussonderung_nachrichten = sa.Table(
    "aussonderung_nachrichten",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("prozess_id", sa.String(36), nullable=False, index=True),
    sa.Column("code", sa.String(4), nullable=False),
    sa.Column("richtung", sa.String(8), nullable=False),  # aus | ein
    sa.Column("dateiname", sa.String(200), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("fehler", sa.Text, nullable=False, server_default=""),
)
# the deletion log: what (Aktenzeichen, file plan, document ids and hashes; no personal
# content), when, by which decision; append-only (triggers refuse UPDATE and DELETE)
loeschprotokoll = sa.Table(
    "loeschprotokoll",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("case_id", sa.String(64), nullable=False, index=True),
    sa.Column("aktenzeichen", sa.String(40), nullable=False),
    sa.Column("aktenplan", sa.String(32), nullable=False),
    sa.Column("service_id", sa.String(64), nullable=False),
    sa.Column("dokumente", sa.JSON, nullable=False),  # [{document_id, version, sha256, document_type}]
    sa.Column("ergebnis", sa.String(16), nullable=False),  # vernichtet | ausgesondert
    sa.Column("entscheidung", sa.String(200), nullable=False),  # e.g. "0502 Bewertungsverzeichnis: V"
    sa.Column("prozess_id", sa.String(36), nullable=False),
    sa.Column("archivkennung", sa.String(200), nullable=False, server_default=""),
    sa.Column("actor", sa.String(100), nullable=False),
)
