"""history_compartment: the patient compartment of every stored version

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import orjson
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "history_compartment",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["seq"], ["resource_history.seq"], name=op.f("fk_history_compartment_seq"),
                                ondelete="CASCADE"),
    )
    op.create_index(op.f("ix_history_compartment_patient_id_seq"), "history_compartment", ["patient_id", "seq"])
    op.create_index(op.f("ix_history_compartment_seq"), "history_compartment", ["seq"])
    _backfill(op.get_bind())


def _backfill(conn) -> None:
    """Fill the table for versions stored before it existed (a delete takes the version it deleted)."""
    from gateway.policy import compartment_of

    h = sa.table("resource_history", sa.column("seq"), sa.column("res_type"), sa.column("res_id"),
                 sa.column("version"), sa.column("body"))
    target = sa.table("history_compartment", sa.column("seq"), sa.column("patient_id"))
    after = 0
    while True:
        rows = conn.execute(sa.select(h.c.seq, h.c.res_type, h.c.res_id, h.c.version, h.c.body)
                            .where(h.c.seq > after).order_by(h.c.seq).limit(BATCH)).all()
        if not rows:
            return
        out = []
        for seq, rtype, rid, version, body in rows:
            if body is None and version > 1:
                body = conn.execute(sa.select(h.c.body).where(h.c.res_type == rtype, h.c.res_id == rid,
                                                              h.c.version == version - 1)).scalar()
            if body is not None:
                out += [{"seq": seq, "patient_id": p} for p in compartment_of(orjson.loads(body))]
        if out:
            conn.execute(sa.insert(target), out)
        after = rows[-1].seq


def downgrade() -> None:
    op.drop_table("history_compartment")
