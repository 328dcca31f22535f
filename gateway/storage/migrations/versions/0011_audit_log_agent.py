"""audit_log.agent: who was shown each pending record, so a carer's read settles only their own

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import orjson
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("agent", sa.String(256), nullable=True))
        batch.create_index(op.f("ix_audit_log_agent"), ["agent"])
    conn = op.get_bind()
    for seq, body in conn.execute(sa.text("SELECT seq, body FROM audit_log")).all():
        agent = next((a["who"]["reference"] for a in orjson.loads(body).get("agent", [])
                      if a.get("requestor") and isinstance((a.get("who") or {}).get("reference"), str)), None)
        conn.execute(sa.text("UPDATE audit_log SET agent = :agent WHERE seq = :seq"), {"agent": agent, "seq": seq})


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index(op.f("ix_audit_log_agent"))
        batch.drop_column("agent")
