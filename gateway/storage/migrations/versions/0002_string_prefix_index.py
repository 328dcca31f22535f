"""PostgreSQL: an index on idx_string.value_norm with varchar_pattern_ops for prefix LIKE

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_idx_string_prefix", "idx_string", ["res_type", "param", "value_norm"],
                        postgresql_ops={"value_norm": "varchar_pattern_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_idx_string_prefix", table_name="idx_string")
