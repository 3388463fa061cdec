"""residents' Einzugsdatum (the day they moved into the registered address)

Revision ID: broker_0004
Revises: broker_0003

The registers are the demo city's synthetic ones: residents seeded before get the same
deterministic date a fresh seed gives them.
"""

import sqlalchemy as sa
from alembic import op

from rathaus.broker.domain import moved_in

revision = "broker_0004"
down_revision = "broker_0003"
branch_labels = None
depends_on = None

# the demo citizen's date, as the seed has it
DEMO = {"given_key": "erika", "family_key": "mustermann", "birth_date": "1964-08-12", "moved_in": "2019-03-01"}


def upgrade() -> None:
    op.add_column("residents", sa.Column("moved_in", sa.String(10), nullable=False, server_default=""))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, birth_date FROM residents")).all()
    if rows:
        conn.execute(
            sa.text("UPDATE residents SET moved_in = :moved_in WHERE id = :id"),
            [{"id": rid, "moved_in": moved_in(rid, birth_date)} for rid, birth_date in rows],
        )
        conn.execute(
            sa.text(
                "UPDATE residents SET moved_in = :moved_in WHERE given_key = :given_key "
                "AND family_key = :family_key AND birth_date = :birth_date"
            ),
            DEMO,
        )


def downgrade() -> None:
    op.drop_column("residents", "moved_in")
