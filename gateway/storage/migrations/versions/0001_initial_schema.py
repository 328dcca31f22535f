"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 08:46:04.166793
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('resource_history',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('res_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', sa.DateTime(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_resource_history')),
    sa.UniqueConstraint('res_type', 'res_id', 'version', name=op.f('uq_resource_history_res_type_res_id_version'))
    )
    with op.batch_alter_table('resource_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_history_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_resource_history_res_type_seq'), ['res_type', 'seq'], unique=False)

    op.create_table('resources',
    sa.Column('rid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('res_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', sa.DateTime(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('rid', name=op.f('pk_resources')),
    sa.UniqueConstraint('res_type', 'res_id', name=op.f('uq_resources_res_type_res_id'))
    )
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resources_res_type_last_updated'), ['res_type', 'last_updated'], unique=False)

    op.create_table('idx_date',
    sa.Column('rid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('low', sa.DateTime(), nullable=True),
    sa.Column('high', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['rid'], ['resources.rid'], name=op.f('fk_idx_date_rid'), ondelete='CASCADE')
    )
    with op.batch_alter_table('idx_date', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idx_date_res_type_param_low_high'), ['res_type', 'param', 'low', 'high'], unique=False)
        batch_op.create_index(batch_op.f('ix_idx_date_rid'), ['rid'], unique=False)

    op.create_table('idx_reference',
    sa.Column('rid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=64), nullable=True),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('target_url', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['rid'], ['resources.rid'], name=op.f('fk_idx_reference_rid'), ondelete='CASCADE')
    )
    with op.batch_alter_table('idx_reference', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idx_reference_res_type_param_target_id_target_type'), ['res_type', 'param', 'target_id', 'target_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_idx_reference_rid'), ['rid'], unique=False)
        batch_op.create_index(batch_op.f('ix_idx_reference_target_type_target_id'), ['target_type', 'target_id'], unique=False)

    op.create_table('idx_string',
    sa.Column('rid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('value_norm', sa.String(length=255), nullable=False),
    sa.Column('value_exact', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['rid'], ['resources.rid'], name=op.f('fk_idx_string_rid'), ondelete='CASCADE')
    )
    with op.batch_alter_table('idx_string', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idx_string_res_type_param_value_norm'), ['res_type', 'param', 'value_norm'], unique=False)
        batch_op.create_index(batch_op.f('ix_idx_string_rid'), ['rid'], unique=False)

    op.create_table('idx_token',
    sa.Column('rid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('system', sa.String(length=255), nullable=True),
    sa.Column('code', sa.String(length=255), nullable=True),
    sa.Column('text', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['rid'], ['resources.rid'], name=op.f('fk_idx_token_rid'), ondelete='CASCADE')
    )
    with op.batch_alter_table('idx_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idx_token_res_type_param_code_system'), ['res_type', 'param', 'code', 'system'], unique=False)
        batch_op.create_index(batch_op.f('ix_idx_token_rid'), ['rid'], unique=False)

    op.create_table('idx_uri',
    sa.Column('rid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('uri', sa.String(length=512), nullable=False),
    sa.ForeignKeyConstraint(['rid'], ['resources.rid'], name=op.f('fk_idx_uri_rid'), ondelete='CASCADE')
    )
    with op.batch_alter_table('idx_uri', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idx_uri_res_type_param_uri'), ['res_type', 'param', 'uri'], unique=False)
        batch_op.create_index(batch_op.f('ix_idx_uri_rid'), ['rid'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('idx_uri', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idx_uri_rid'))
        batch_op.drop_index(batch_op.f('ix_idx_uri_res_type_param_uri'))

    op.drop_table('idx_uri')
    with op.batch_alter_table('idx_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idx_token_rid'))
        batch_op.drop_index(batch_op.f('ix_idx_token_res_type_param_code_system'))

    op.drop_table('idx_token')
    with op.batch_alter_table('idx_string', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idx_string_rid'))
        batch_op.drop_index(batch_op.f('ix_idx_string_res_type_param_value_norm'))

    op.drop_table('idx_string')
    with op.batch_alter_table('idx_reference', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idx_reference_target_type_target_id'))
        batch_op.drop_index(batch_op.f('ix_idx_reference_rid'))
        batch_op.drop_index(batch_op.f('ix_idx_reference_res_type_param_target_id_target_type'))

    op.drop_table('idx_reference')
    with op.batch_alter_table('idx_date', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idx_date_rid'))
        batch_op.drop_index(batch_op.f('ix_idx_date_res_type_param_low_high'))

    op.drop_table('idx_date')
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resources_res_type_last_updated'))

    op.drop_table('resources')
    with op.batch_alter_table('resource_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resource_history_res_type_seq'))
        batch_op.drop_index(batch_op.f('ix_resource_history_last_updated'))

    op.drop_table('resource_history')
