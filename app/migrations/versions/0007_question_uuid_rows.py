"""question uuid on key-point, misconception and playground rows

A question is its uuid: renumbering a file must not merge two questions' statistics, so
the rows behind "most often missed", the detected misconceptions and the playground's
audit log name the question by uuid, as attempts always have; the number stays beside it
as a snapshot for display. A learner's attempts are found by learner and uuid.

Existing key-point and misconception rows take the uuid of their attempt. A playground
run has no attempt: it takes the uuid of the last attempt made under its number at or
before the run, else of the first made after it. A run whose number no attempt ever had
keeps a null uuid and is shown under the question that has its number now.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Portable SQL (SQLite and PostgreSQL): correlated subqueries, no UPDATE ... FROM.
FILL_FROM_ATTEMPT = (
    'UPDATE {table} SET question_id = '
    '(SELECT attempt.question_id FROM attempt WHERE attempt.id = {table}.attempt_id)'
)
FILL_PLAYGROUND = (
    'UPDATE playground_run SET question_id = COALESCE('
    '(SELECT a.question_id FROM attempt a'
    ' WHERE a.question_number = playground_run.question_number'
    ' AND a.created_at <= playground_run.created_at'
    ' ORDER BY a.created_at DESC, a.id DESC LIMIT 1),'
    '(SELECT a.question_id FROM attempt a'
    ' WHERE a.question_number = playground_run.question_number'
    ' ORDER BY a.created_at, a.id LIMIT 1))'
)


def upgrade() -> None:
    """Apply this revision."""
    for table in ('attempt_point', 'attempt_misconception', 'playground_run'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('question_id', sa.String(length=36), nullable=True))
    op.execute(FILL_FROM_ATTEMPT.format(table='attempt_point'))
    op.execute(FILL_FROM_ATTEMPT.format(table='attempt_misconception'))
    op.execute(FILL_PLAYGROUND)
    with op.batch_alter_table('attempt_point', schema=None) as batch_op:
        batch_op.alter_column('question_id', existing_type=sa.String(length=36), nullable=False)
        batch_op.drop_index('ix_attempt_point_missed')
        batch_op.drop_index('ix_attempt_point_question_number')
        batch_op.create_index(
            'ix_attempt_point_missed', ['question_id', 'met', 'point_id'], unique=False
        )
    with op.batch_alter_table('attempt_misconception', schema=None) as batch_op:
        batch_op.alter_column('question_id', existing_type=sa.String(length=36), nullable=False)
        batch_op.drop_index('ix_attempt_misconception_question_number')
        batch_op.create_index(
            'ix_attempt_misconception_question_id', ['question_id'], unique=False
        )
    with op.batch_alter_table('playground_run', schema=None) as batch_op:
        batch_op.create_index(
            'ix_playground_run_demo', ['question_id', 'demo_index', 'id'], unique=False
        )
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_attempt_learner_question')
        batch_op.create_index(
            'ix_attempt_learner_question', ['learner_id', 'question_id'], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_attempt_learner_question')
        batch_op.create_index(
            'ix_attempt_learner_question', ['learner_id', 'question_number'], unique=False
        )
    with op.batch_alter_table('playground_run', schema=None) as batch_op:
        batch_op.drop_index('ix_playground_run_demo')
        batch_op.drop_column('question_id')
    with op.batch_alter_table('attempt_misconception', schema=None) as batch_op:
        batch_op.drop_index('ix_attempt_misconception_question_id')
        batch_op.create_index(
            'ix_attempt_misconception_question_number', ['question_number'], unique=False
        )
        batch_op.drop_column('question_id')
    with op.batch_alter_table('attempt_point', schema=None) as batch_op:
        batch_op.drop_index('ix_attempt_point_missed')
        batch_op.create_index(
            'ix_attempt_point_question_number', ['question_number'], unique=False
        )
        batch_op.create_index(
            'ix_attempt_point_missed', ['question_number', 'met', 'point_id'], unique=False
        )
        batch_op.drop_column('question_id')
