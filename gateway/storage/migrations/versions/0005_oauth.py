"""oauth: the SMART App Launch authorization server's clients, users, links, approvals, codes, tokens

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('oauth_assertion_jtis',
    sa.Column('jti_key', sa.String(length=255), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('jti_key', name=op.f('pk_oauth_assertion_jtis'))
    )
    op.create_table('oauth_clients',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('auth_method', sa.String(length=32), nullable=False),
    sa.Column('secret_hash', sa.Text(), nullable=True),
    sa.Column('redirect_uris', sa.Text(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('grant_types', sa.Text(), nullable=False),
    sa.Column('jwks', sa.Text(), nullable=True),
    sa.Column('jwks_uri', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_oauth_clients'))
    )
    op.create_table('oauth_login_failures',
    sa.Column('id', SERIAL, autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('failed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_login_failures'))
    )
    op.create_index(op.f('ix_oauth_login_failures_key_failed_at'), 'oauth_login_failures', ['key', 'failed_at'], unique=False)
    op.create_table('oauth_tokens',
    sa.Column('id', SERIAL, autoincrement=True, nullable=False),
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('fhir_user', sa.String(length=100), nullable=True),
    sa.Column('patient_id', sa.String(length=64), nullable=True),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('refresh_hash', sa.String(length=64), nullable=True),
    sa.Column('code_hash', sa.String(length=64), nullable=True),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('access_expires_at', sa.DateTime(), nullable=False),
    sa.Column('refresh_expires_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_tokens')),
    sa.UniqueConstraint('jti', name=op.f('uq_oauth_tokens_jti')),
    sa.UniqueConstraint('refresh_hash', name=op.f('uq_oauth_tokens_refresh_hash'))
    )
    op.create_index(op.f('ix_oauth_tokens_code_hash'), 'oauth_tokens', ['code_hash'], unique=False)
    op.create_table('oauth_users',
    sa.Column('id', SERIAL, autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=128), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=True),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_users')),
    sa.UniqueConstraint('username', name=op.f('uq_oauth_users_username'))
    )
    op.create_table('oauth_approvals',
    sa.Column('id', SERIAL, autoincrement=True, nullable=False),
    sa.Column('user_id', SERIAL, nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['oauth_clients.client_id'], name=op.f('fk_oauth_approvals_client_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['oauth_users.id'], name=op.f('fk_oauth_approvals_user_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_approvals'))
    )
    op.create_index(op.f('ix_oauth_approvals_user_id_client_id'), 'oauth_approvals', ['user_id', 'client_id'], unique=False)
    op.create_table('oauth_codes',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', SERIAL, nullable=False),
    sa.Column('fhir_user', sa.String(length=100), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=True),
    sa.Column('redirect_uri', sa.Text(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('nonce', sa.Text(), nullable=True),
    sa.Column('code_challenge', sa.String(length=128), nullable=True),
    sa.Column('code_challenge_method', sa.String(length=8), nullable=True),
    sa.Column('auth_time', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['oauth_users.id'], name=op.f('fk_oauth_codes_user_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_oauth_codes'))
    )
    op.create_table('oauth_user_links',
    sa.Column('id', SERIAL, autoincrement=True, nullable=False),
    sa.Column('user_id', SERIAL, nullable=False),
    sa.Column('fhir_type', sa.String(length=32), nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=True),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['oauth_users.id'], name=op.f('fk_oauth_user_links_user_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_user_links')),
    sa.UniqueConstraint('user_id', 'fhir_type', 'fhir_id', name=op.f('uq_oauth_user_links_user_id_fhir_type_fhir_id'))
    )


def downgrade() -> None:
    op.drop_table('oauth_user_links')
    op.drop_table('oauth_codes')
    op.drop_index(op.f('ix_oauth_approvals_user_id_client_id'), table_name='oauth_approvals')
    op.drop_table('oauth_approvals')
    op.drop_table('oauth_users')
    op.drop_index(op.f('ix_oauth_tokens_code_hash'), table_name='oauth_tokens')
    op.drop_table('oauth_tokens')
    op.drop_index(op.f('ix_oauth_login_failures_key_failed_at'), table_name='oauth_login_failures')
    op.drop_table('oauth_login_failures')
    op.drop_table('oauth_clients')
    op.drop_table('oauth_assertion_jtis')
