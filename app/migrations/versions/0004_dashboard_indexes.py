"""dashboard indexes

Covering indexes for the instructor dashboard: best scores per learner and question are
read from the index alone, and missed key points are counted without touching the table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 14:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.create_index(
            'ix_attempt_best_scores',
            ['question_id', 'learner_id', 'final_score', 'final_points'],
            unique=False,
        )
    with op.batch_alter_table('attempt_point', schema=None) as batch_op:
        batch_op.create_index(
            'ix_attempt_point_missed', ['question_number', 'met', 'point_id'], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('attempt_point', schema=None) as batch_op:
        batch_op.drop_index('ix_attempt_point_missed')
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_attempt_best_scores')
