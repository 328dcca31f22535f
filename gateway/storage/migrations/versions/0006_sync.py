"""Connectors, pull side: sync state per source, upstream identities, record links, quarantine

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sync_state",
        sa.Column("source", sa.String(length=63), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("running", sa.Boolean(), nullable=False),
        sa.Column("last_started", sa.DateTime(), nullable=True),
        sa.Column("last_success", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_summary", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_sync_state")),
    )
    op.create_table(
        "sync_records",
        sa.Column("source", sa.String(length=63), nullable=False),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("upstream_id", sa.String(length=255), nullable=False),
        sa.Column("local_id", sa.String(length=64), nullable=False),
        sa.Column("upstream_updated", sa.DateTime(), nullable=True),
        sa.Column("upstream_version", sa.String(length=64), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("source", "res_type", "upstream_id",
                            name=op.f("uq_sync_records_source_res_type_upstream_id")),
    )
    op.create_table(
        "sync_links",
        sa.Column("source", sa.String(length=63), nullable=False),
        sa.Column("record", sa.String(length=255), nullable=False),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("upstream_id", sa.String(length=255), nullable=False),
        sa.UniqueConstraint("source", "record", "res_type", "upstream_id",
                            name=op.f("uq_sync_links_source_record_res_type_upstream_id")),
    )
    op.create_index(op.f("ix_sync_links_source_res_type_upstream_id"), "sync_links",
                    ["source", "res_type", "upstream_id"])
    op.create_table(
        "quarantine",
        sa.Column("qid", Serial, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=63), nullable=False),
        sa.Column("record", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("received", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("qid", name=op.f("pk_quarantine")),
        sa.UniqueConstraint("source", "record", name=op.f("uq_quarantine_source_record")),
    )


def downgrade() -> None:
    op.drop_table("quarantine")
    op.drop_index(op.f("ix_sync_links_source_res_type_upstream_id"), table_name="sync_links")
    op.drop_table("sync_links")
    op.drop_table("sync_records")
    op.drop_table("sync_state")
