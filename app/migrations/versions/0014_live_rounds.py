"""live rounds: a question opened to the room, and the answers picked to show

At most one round is open at a time: ``is_open`` is true while open and NULL once
closed, under a unique constraint. A closed round keeps its figures in ``snapshot``.

Revision ID: 0014_live_rounds
Revises: 0013_presented_slide
Create Date: 2026-12-03 13:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014_live_rounds'
down_revision: str | None = '0013_presented_slide'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('live_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.String(length=36), nullable=False),
    sa.Column('question_number', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_by', sa.Integer(), nullable=True),
    sa.Column('is_open', sa.Boolean(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('demo_index', sa.Integer(), nullable=True),
    sa.Column('demo_runs', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['opened_by'], ['instructor.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('is_open')
    )
    with op.batch_alter_table('live_round', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_round_question_id'), ['question_id'], unique=False)
    op.create_table('round_pick',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('picked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['live_round.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'attempt_id')
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table('round_pick')
    with op.batch_alter_table('live_round', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_round_question_id'))
    op.drop_table('live_round')
