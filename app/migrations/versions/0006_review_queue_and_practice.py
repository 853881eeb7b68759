"""review queue, practice attempts

The grader's confidence and review flag on each attempt, when an instructor settled it, and
whether it was made after the learner saw the reference answer; when a learner first saw
each reference answer.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('confidence', sa.Float(), nullable=False, server_default='1.0')
        )
        batch_op.add_column(
            sa.Column('needs_review', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column('review_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('practice', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_foreign_key(
            'fk_attempt_reviewed_by', 'instructor', ['reviewed_by'], ['id'], ondelete='SET NULL'
        )
        batch_op.create_index(
            'ix_attempt_review_queue', ['needs_review', 'reviewed_at', 'id'], unique=False
        )
    op.create_table(
        'reference_view',
        sa.Column('learner_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.String(length=36), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['learner_id'], ['learner.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('learner_id', 'question_id'),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table('reference_view')
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_attempt_review_queue')
        batch_op.drop_constraint('fk_attempt_reviewed_by', type_='foreignkey')
        for column in ('practice', 'reviewed_by', 'reviewed_at', 'review_reason',
                       'needs_review', 'confidence'):
            batch_op.drop_column(column)
