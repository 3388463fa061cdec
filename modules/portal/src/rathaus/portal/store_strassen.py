"""The portal's copy of the street directory (portal_0010), kept from the data broker's
``broker.street-directory.published`` events: public data, keyed as the contract keys it."""

from __future__ import annotations

import sqlalchemy as sa

from rathaus.portal.store import metadata

strassenverzeichnis = sa.Table(
    "strassenverzeichnis",
    metadata,
    sa.Column("edition", sa.String(64), primary_key=True),
    sa.Column("street_key", sa.String(120), primary_key=True),
    sa.Column("postal_code", sa.String(5), primary_key=True),
    sa.Column("house_number", sa.String(10), primary_key=True),
    sa.Column("attributes", sa.JSON, nullable=False),
)

# the parts of each edition that arrived; an edition is complete when all have
strassenverzeichnis_teile = sa.Table(
    "strassenverzeichnis_teile",
    metadata,
    sa.Column("edition", sa.String(64), primary_key=True),
    sa.Column("part", sa.Integer, primary_key=True),
    sa.Column("parts", sa.Integer, nullable=False),
    sa.Column("published_at", sa.String(40), nullable=False),
)

# the edition the portal answers from: one row, the newest complete edition
strassenverzeichnis_aktuell = sa.Table(
    "strassenverzeichnis_aktuell",
    metadata,
    sa.Column("name", sa.String(16), primary_key=True),  # "aktuell"
    sa.Column("edition", sa.String(64), nullable=False),
    sa.Column("published_at", sa.String(40), nullable=False),
)
