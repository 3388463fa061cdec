"""Aussonderung with the archive (xdomea 0501–0507): runs, their objects, the messages, and
the append-only deletion log (Löschprotokoll)

Revision ID: eakte_0011_aussonderung
Revises: eakte_0007_geschaeftsgang
"""

import sqlalchemy as sa
from alembic import op

revision = "eakte_0011_aussonderung"
down_revision = "eakte_0007_geschaeftsgang"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "aussonderungen",
        sa.Column("prozess_id", sa.String(36), primary_key=True),
        sa.Column("archiv", sa.String(32), nullable=False),
        sa.Column("verfahren", sa.String(12), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("ausloeser", sa.String(32), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("angeboten_at", sa.String(40)),
        sa.Column("bewertet_at", sa.String(40)),
        sa.Column("uebergeben_at", sa.String(40)),
        sa.Column("bestaetigt_at", sa.String(40)),
        sa.Column("abgeschlossen_at", sa.String(40)),
    )
    op.create_table(
        "aussonderung_objekte",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("prozess_id", sa.String(36), nullable=False, index=True),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("sgo_id", sa.String(36), nullable=False, index=True),
        sa.Column("aktenzeichen", sa.String(40), nullable=False),
        sa.Column("aussonderungsart", sa.String(1), nullable=False),
        sa.Column("vorschlag", sa.String(1), nullable=False),
        sa.Column("bewertung", sa.String(1)),
        sa.Column("bewertung_quelle", sa.String(12)),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("archivkennung", sa.String(200)),
        sa.Column("fehlermeldung", sa.Text),
        sa.Column("erledigt_at", sa.String(40)),
    )
    op.create_table(
        "aussonderung_nachrichten",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("prozess_id", sa.String(36), nullable=False, index=True),
        sa.Column("code", sa.String(4), nullable=False),
        sa.Column("richtung", sa.String(8), nullable=False),
        sa.Column("dateiname", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("fehler", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "loeschprotokoll",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("aktenzeichen", sa.String(40), nullable=False),
        sa.Column("aktenplan", sa.String(32), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("dokumente", sa.JSON, nullable=False),
        sa.Column("ergebnis", sa.String(16), nullable=False),
        sa.Column("entscheidung", sa.String(200), nullable=False),
        sa.Column("prozess_id", sa.String(36), nullable=False),
        sa.Column("archivkennung", sa.String(200), nullable=False, server_default=""),
        sa.Column("actor", sa.String(100), nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER loeschprotokoll_no_{action.lower()} BEFORE {action} ON loeschprotokoll "
                "BEGIN SELECT RAISE(ABORT, 'the deletion log is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION loeschprotokoll_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'the deletion log is append-only'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER loeschprotokoll_append_only BEFORE UPDATE OR DELETE ON loeschprotokoll "
            "FOR EACH ROW EXECUTE FUNCTION loeschprotokoll_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS loeschprotokoll_append_only ON loeschprotokoll")
        op.execute("DROP FUNCTION IF EXISTS loeschprotokoll_append_only()")
    op.drop_table("loeschprotokoll")
    op.drop_table("aussonderung_nachrichten")
    op.drop_table("aussonderung_objekte")
    op.drop_table("aussonderungen")
