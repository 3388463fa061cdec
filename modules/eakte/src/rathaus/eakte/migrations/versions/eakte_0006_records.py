"""Records fields (xdomea): the Aktenplan's Aussonderungsart, retention and validity, inherited
down the plan; a Vorgang's lifecycle (offen, zdA, storniert, abgegeben, ausgesondert,
vernichtet) with its zdA date, Bewertungsvorschlag and Aufbewahrungsende

Revision ID: eakte_0006
Revises: eakte_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "eakte_0006"
down_revision = "eakte_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("aktenplan") as batch:
        batch.add_column(sa.Column("aussonderungsart", sa.String(1)))
        batch.add_column(sa.Column("aufbewahrung", sa.String(12)))
        batch.add_column(sa.Column("gueltig_ab", sa.String(10)))
        batch.add_column(sa.Column("gueltig_bis", sa.String(10)))
        batch.add_column(sa.Column("aktiv", sa.Boolean, nullable=False, server_default=sa.true()))
    with op.batch_alter_table("vorgaenge") as batch:
        batch.add_column(sa.Column("lifecycle", sa.String(16), nullable=False, server_default="offen"))
        batch.add_column(sa.Column("zda_at", sa.String(40)))
        batch.add_column(sa.Column("bewertungsvorschlag", sa.String(1)))
        batch.add_column(sa.Column("aufbewahrungsende", sa.String(10)))
    op.create_index("ix_vorgaenge_retention", "vorgaenge", ["lifecycle", "aufbewahrungsende"])


def downgrade() -> None:
    op.drop_index("ix_vorgaenge_retention", table_name="vorgaenge")
    with op.batch_alter_table("vorgaenge") as batch:
        for name in ("aufbewahrungsende", "bewertungsvorschlag", "zda_at", "lifecycle"):
            batch.drop_column(name)
    with op.batch_alter_table("aktenplan") as batch:
        for name in ("aktiv", "gueltig_bis", "gueltig_ab", "aufbewahrung", "aussonderungsart"):
            batch.drop_column(name)
