"""Tables of the Geschäftsgang (eakte_0007_geschaeftsgang), on the E-Akte's metadata: routes
(Verfügungen; their steps are rows of ``beteiligungen``), follow-ups (Wiedervorlagen) and
deputies (Vertretungen)."""

from __future__ import annotations

import sqlalchemy as sa

from rathaus.eakte.store import metadata

verfuegungen = sa.Table(
    "verfuegungen",
    metadata,
    sa.Column("verfuegung_id", sa.String(36), primary_key=True),
    sa.Column("case_id", sa.String(64), nullable=False, index=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("template", sa.String(64), nullable=False, server_default=""),  # the Muster it came from
    sa.Column("status", sa.String(16), nullable=False),  # laeuft | abgeschlossen | zurueckgegeben
    sa.Column("outcome", sa.String(16), nullable=False, server_default=""),  # the draft decision, if any
    sa.Column("reasons", sa.Text, nullable=False, server_default=""),
    sa.Column("documents", sa.JSON, nullable=False),  # document ids locked while it runs
    sa.Column("created_by", sa.String(64), nullable=False),  # username, or "system"
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("ended_at", sa.String(40)),
)
wiedervorlagen = sa.Table(
    "wiedervorlagen",
    metadata,
    sa.Column("wiedervorlage_id", sa.String(36), primary_key=True),
    sa.Column("case_id", sa.String(64), nullable=False, index=True),
    sa.Column("owner", sa.String(64), nullable=False, index=True),  # the username it comes back to
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # geplant | faellig | erledigt | aufgehoben
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("due_at", sa.String(40)),  # when the timer fired
    sa.Column("closed_at", sa.String(40)),
)
vertretungen = sa.Table(
    "vertretungen",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("absent", sa.String(64), nullable=False, index=True),  # username
    sa.Column("deputy", sa.String(64), nullable=False, index=True),  # username
    sa.Column("begin", sa.String(10), nullable=False),
    sa.Column("end", sa.String(10), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("revoked_at", sa.String(40)),
)
