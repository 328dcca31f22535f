"""subscriptions.ends_at: Subscription.end, the instant the server turns it off

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import orjson
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("ends_at", sa.DateTime(), nullable=True))
    from gateway.fhirtime import parse_instant

    conn = op.get_bind()
    stored = conn.execute(sa.text(
        "SELECT s.sid, r.body FROM subscriptions s JOIN resources r "
        "ON r.res_type = 'Subscription' AND r.res_id = s.res_id WHERE r.body IS NOT NULL")).all()
    for sid, body in stored:
        end = orjson.loads(body).get("end")
        end = parse_instant(end) if isinstance(end, str) else None
        if end is not None:
            conn.execute(sa.text("UPDATE subscriptions SET ends_at = :end WHERE sid = :sid"), {"end": end, "sid": sid})


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("ends_at")
