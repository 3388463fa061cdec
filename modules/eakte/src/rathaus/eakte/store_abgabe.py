"""The E-Akte's handovers to and from other authorities (xdomea Abgabe 0401–0403) and the
data-protection state of a case (Art. 18/17 DSGVO), eakte_0009, on the E-Akte's metadata."""

from __future__ import annotations

import sqlalchemy as sa

from rathaus.eakte.store import metadata

# One row per Abgabe, either way. Outgoing: gesendet (0401 written) -> empfangen (0403) ->
# abgegeben (0402, imported) | fehlgeschlagen (0402, not imported). Incoming: importiert
# (a Vorgang was created, 0403 and 0402 answered) | abgewiesen (not valid, moved aside).
abgaben = sa.Table(
    "abgaben",
    metadata,
    sa.Column("prozess_id", sa.String(64), primary_key=True),
    sa.Column("direction", sa.String(12), primary_key=True),  # ausgehend | eingehend
    sa.Column("case_id", sa.String(64), nullable=False, server_default="", index=True),
    sa.Column("partner", sa.String(64), nullable=False),  # Behördenkennung
    sa.Column("partner_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("object_id", sa.String(36), primary_key=True, server_default=""),  # the xdomea ID
    sa.Column("aktenzeichen", sa.String(40), nullable=False, server_default=""),  # ours
    sa.Column("partner_aktenzeichen", sa.String(40), nullable=False, server_default=""),
    sa.Column("message", sa.String(300), nullable=False, server_default=""),  # last container
    sa.Column("error", sa.Text, nullable=False, server_default=""),
    sa.Column("started_by", sa.String(64), nullable=False, server_default=""),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("done_at", sa.String(40)),  # abgegeben / importiert
)

# The data-protection state of a case's personal data: no row = normal processing;
# eingeschraenkt = an erasure request (Art. 17) met a running retention, so processing is
# restricted (Art. 18) until retention and the archive decision allow deletion;
# geloescht = the personal data were deleted (by the disposal).
datenschutz = sa.Table(
    "datenschutz",
    metadata,
    sa.Column("case_id", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("reference", sa.String(120), nullable=False, server_default=""),  # the request's file no.
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("requested_at", sa.String(40), nullable=False),
    sa.Column("by", sa.String(64), nullable=False),
    sa.Column("changed_at", sa.String(40), nullable=False),
)
