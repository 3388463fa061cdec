"""Geschäftsgang: routes (verfuegungen) whose steps are the rows of beteiligungen (today's
Mitzeichnung becomes a route of its own), Wiedervorlagen, Vertretungen, and personal cases

Revision ID: eakte_0007_geschaeftsgang
Revises: eakte_0008_lifecycle
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "eakte_0007_geschaeftsgang"
down_revision = "eakte_0008_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verfuegungen",
        sa.Column("verfuegung_id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("template", sa.String(64), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False, server_default=""),
        sa.Column("reasons", sa.Text, nullable=False, server_default=""),
        sa.Column("documents", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("ended_at", sa.String(40)),
    )
    with op.batch_alter_table("beteiligungen") as batch:
        batch.add_column(sa.Column("verfuegung_id", sa.String(36)))
        batch.add_column(sa.Column("number", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("person", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("role", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("instruction", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("due", sa.String(10), nullable=False, server_default=""))
        batch.add_column(sa.Column("state", sa.String(16), nullable=False, server_default="current"))
        batch.add_column(sa.Column("attachment", sa.String(100), nullable=False, server_default=""))
        batch.create_index("ix_beteiligungen_verfuegung_id", ["verfuegung_id"])
    with op.batch_alter_table("vorgaenge") as batch:
        batch.add_column(sa.Column("persoenlich", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "wiedervorlagen",
        sa.Column("wiedervorlage_id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("owner", sa.String(64), nullable=False, index=True),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("due_at", sa.String(40)),
        sa.Column("closed_at", sa.String(40)),
    )
    op.create_table(
        "vertretungen",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("absent", sa.String(64), nullable=False, index=True),
        sa.Column("deputy", sa.String(64), nullable=False, index=True),
        sa.Column("begin", sa.String(10), nullable=False),
        sa.Column("end", sa.String(10), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40)),
    )
    # every case's existing Mitzeichnung becomes a route of its own; answered steps are done
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT case_id, MIN(requested_at) FROM beteiligungen GROUP BY case_id")).all()
    decided = {r[0] for r in bind.execute(sa.text("SELECT case_id FROM decisions")).all()}
    for case_id, requested_at in rows:
        route = str(uuid.uuid4())
        bind.execute(
            sa.text(
                "INSERT INTO verfuegungen (verfuegung_id, case_id, title, template, status, outcome, "
                "reasons, documents, created_by, created_at) VALUES (:v, :c, :t, '', :s, '', '', '[]', "
                "'system', :at)"
            ),
            {
                "v": route,
                "c": case_id,
                "t": "Mitzeichnung nach dem Verfahren",
                "s": "abgeschlossen" if case_id in decided else "laeuft",
                "at": requested_at,
            },
        )
        bind.execute(
            sa.text(
                "UPDATE beteiligungen SET verfuegung_id = :v, number = step, state = CASE WHEN "
                "status = 'angefordert' THEN 'current' ELSE 'done' END WHERE case_id = :c"
            ),
            {"v": route, "c": case_id},
        )


def downgrade() -> None:
    op.drop_table("vertretungen")
    op.drop_table("wiedervorlagen")
    with op.batch_alter_table("vorgaenge") as batch:
        batch.drop_column("persoenlich")
    with op.batch_alter_table("beteiligungen") as batch:
        batch.drop_index("ix_beteiligungen_verfuegung_id")
        for column in ("attachment", "state", "due", "instruction", "role", "person", "number", "verfuegung_id"):
            batch.drop_column(column)
    op.drop_table("verfuegungen")
