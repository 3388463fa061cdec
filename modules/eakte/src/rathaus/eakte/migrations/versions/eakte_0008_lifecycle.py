"""File lifecycle: the Aktenzeichen history of Umschreibungen (the old Aktenzeichen still
finds its case), the reason of a Stornierung or reopening, and the mark "Eingang nach
Abschluss" on a closed case that something arrived for; when the records manager last
changed an Aktenplan entry (the procedure data then no longer fills its records fields)

Revision ID: eakte_0008_lifecycle
Revises: eakte_0009_abgabe_datenschutz
"""

import sqlalchemy as sa
from alembic import op

revision = "eakte_0008_lifecycle"
down_revision = "eakte_0009_abgabe_datenschutz"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "aktenzeichen_historie",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("old", sa.String(40), nullable=False, index=True),
        sa.Column("new", sa.String(40), nullable=False),
        sa.Column("old_aktenplan", sa.String(32), nullable=False),
        sa.Column("new_aktenplan", sa.String(32), nullable=False),
        sa.Column("old_unit", sa.String(32), nullable=False),
        sa.Column("new_unit", sa.String(32), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    with op.batch_alter_table("vorgaenge") as batch:
        batch.add_column(sa.Column("abschluss_vermerk", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("eingang_nach_abschluss", sa.String(40)))
    with op.batch_alter_table("aktenplan") as batch:
        batch.add_column(sa.Column("verwaltet_am", sa.String(40)))


def downgrade() -> None:
    with op.batch_alter_table("aktenplan") as batch:
        batch.drop_column("verwaltet_am")
    with op.batch_alter_table("vorgaenge") as batch:
        batch.drop_column("eingang_nach_abschluss")
        batch.drop_column("abschluss_vermerk")
    op.drop_table("aktenzeichen_historie")
