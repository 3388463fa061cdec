"""Services as data: a case keeps its procedure version, its data, its applicant as a Party,
its warnings and its Stadtbezirk; decisions keep their mode and facts; co-signing units
(Beteiligungen)

Revision ID: eakte_0002
Revises: eakte_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "eakte_0002"
down_revision = "eakte_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Cases from before services as data used version 1 of their service; their form
    # (all texts) becomes their data, their applicant (person, address, e-mail) is already
    # a Party. The digest stays empty: the version was not pinned then.
    with op.batch_alter_table("vorgaenge") as batch:
        batch.add_column(sa.Column("service_version", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("procedure_digest", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("data", sa.JSON))
        batch.add_column(sa.Column("files", sa.JSON))
        batch.add_column(sa.Column("warnings", sa.JSON))
        batch.add_column(sa.Column("stadtbezirk", sa.String(80), nullable=False, server_default=""))
    vorgaenge = sa.table(
        "vorgaenge",
        sa.column("case_id", sa.String),
        sa.column("form", sa.JSON),
        sa.column("data", sa.JSON),
        sa.column("files", sa.JSON),
        sa.column("warnings", sa.JSON),
        sa.column("stadtbezirk", sa.String),
    )
    bind = op.get_bind()
    for case_id, form in bind.execute(sa.select(vorgaenge.c.case_id, vorgaenge.c.form)).all():
        form = form or {}
        bind.execute(
            vorgaenge.update()
            .where(vorgaenge.c.case_id == case_id)
            .values(data=form, files={}, warnings=[], stadtbezirk=str(form.get("stadtbezirk", ""))[:80])
        )
    with op.batch_alter_table("vorgaenge") as batch:
        batch.alter_column("data", existing_type=sa.JSON, nullable=False)
        batch.alter_column("files", existing_type=sa.JSON, nullable=False)
        batch.alter_column("warnings", existing_type=sa.JSON, nullable=False)
        batch.drop_column("form")
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("mode", sa.String(16), nullable=False, server_default="clerk"))
        batch.add_column(sa.Column("facts", sa.JSON))
    op.create_table(
        "beteiligungen",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("unit", sa.String(32), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("requested_at", sa.String(40), nullable=False),
        sa.Column("by", sa.String(64)),
        sa.Column("at", sa.String(40)),
        sa.UniqueConstraint("case_id", "step", "unit", "kind"),
    )


def downgrade() -> None:
    op.drop_table("beteiligungen")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("facts")
        batch.drop_column("mode")
    with op.batch_alter_table("vorgaenge") as batch:
        batch.add_column(sa.Column("form", sa.JSON))
    vorgaenge = sa.table("vorgaenge", sa.column("case_id", sa.String), sa.column("form", sa.JSON), sa.column("data", sa.JSON))
    bind = op.get_bind()
    for case_id, data in bind.execute(sa.select(vorgaenge.c.case_id, vorgaenge.c.data)).all():
        flat = {k: str(v) for k, v in (data or {}).items() if not isinstance(v, list | dict)}
        bind.execute(vorgaenge.update().where(vorgaenge.c.case_id == case_id).values(form=flat))
    with op.batch_alter_table("vorgaenge") as batch:
        batch.alter_column("form", existing_type=sa.JSON, nullable=False)
        for column in ("stadtbezirk", "warnings", "files", "data", "procedure_digest", "service_version"):
            batch.drop_column(column)
