"""one rate limit table

Failed sign-ins are counted in rate_limit_hit like every other limit (buckets
``login-account`` and ``login-address``); the login_attempt table goes, its recent rows
copied over so that a limit in force when the server upgrades stays in force.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    for bucket, column in (('login-account', 'account'), ('login-address', 'address')):
        op.execute(
            sa.text(
                'INSERT INTO rate_limit_hit (bucket, "key", created_at) '
                f'SELECT :bucket, SUBSTR({column}, 1, 200), created_at FROM login_attempt'
            ).bindparams(bucket=bucket)
        )
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempt_address')
        batch_op.drop_index('ix_login_attempt_account')
    op.drop_table('login_attempt')


def downgrade() -> None:
    """Revert this revision: the sign-in failures go back to a table of their own."""
    op.create_table('login_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=254), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempt_account', ['account', 'created_at'], unique=False)
        batch_op.create_index('ix_login_attempt_address', ['address', 'created_at'], unique=False)
    # A failure's account and address were counted as two unrelated rows: the pairs are
    # gone, so the accounts come back (each with no address) and the address counts reset.
    op.execute(
        "INSERT INTO login_attempt (account, address, created_at) "
        "SELECT \"key\", '', created_at FROM rate_limit_hit WHERE bucket = 'login-account'"
    )
    op.execute("DELETE FROM rate_limit_hit WHERE bucket IN ('login-account', 'login-address')")
