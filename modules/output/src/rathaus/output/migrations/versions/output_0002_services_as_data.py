"""output management: decisions of any version, delivery by e-mail, notifications of authorities

Revision ID: output_0002
Revises: output_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "output_0002"
down_revision = "output_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bescheide") as batch:
        batch.add_column(sa.Column("decision_version", sa.Integer))
        batch.add_column(sa.Column("mail_next_at", sa.String(40)))
    # every decision stored so far came as DecisionMade v1
    op.execute("UPDATE bescheide SET decision_version = 1 WHERE decision IS NOT NULL")
    op.create_table(
        "uebermittlungen",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("aktenzeichen", sa.String(40), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False, index=True),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("recipient_name", sa.String(200), nullable=False),
        sa.Column("legal_basis", sa.String(300), nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("sent_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("uebermittlungen")
    with op.batch_alter_table("bescheide") as batch:
        batch.drop_column("mail_next_at")
        batch.drop_column("decision_version")
