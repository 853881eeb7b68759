"""idempotency, rate limits, playground audit

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 15:06:06.183910
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""

    op.create_table('rate_limit_hit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bucket', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rate_limit_hit', schema=None) as batch_op:
        batch_op.create_index('ix_rate_limit_hit_lookup', ['bucket', 'key', 'created_at'], unique=False)

    op.create_table('playground_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instructor_id', sa.Integer(), nullable=True),
    sa.Column('question_number', sa.Integer(), nullable=False),
    sa.Column('demo_index', sa.Integer(), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instructor_id'], ['instructor.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('playground_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_playground_run_instructor_id'), ['instructor_id'], unique=False)

    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint('uq_attempt_idempotency', ['learner_id', 'idempotency_key'])




def downgrade() -> None:
    """Revert this revision."""

    with op.batch_alter_table('attempt', schema=None) as batch_op:
        # WARNING: constraint name is None; this directive will fail as
        # rendered.  Add a name, or use a naming convention; see
        # https://alembic.sqlalchemy.org/en/latest/naming.html
        batch_op.drop_constraint('uq_attempt_idempotency', type_='unique')
        batch_op.drop_column('idempotency_key')

    with op.batch_alter_table('playground_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_playground_run_instructor_id'))

    op.drop_table('playground_run')
    with op.batch_alter_table('rate_limit_hit', schema=None) as batch_op:
        batch_op.drop_index('ix_rate_limit_hit_lookup')

    op.drop_table('rate_limit_hit')

