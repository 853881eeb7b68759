"""class modes: the roster and merged learners

The class mode and its join code are a ``quiz_setting`` row (``class-mode``); the roster
lists the learners an instructor imported, and ``learner_merge`` records each merge.

A merge is the first thing that deletes a learner. SQLite hands the highest deleted rowid
out again, and a learner's browser holds their id: the merged learner's browser would be
taken for the next new learner. ``learner`` is rebuilt with AUTOINCREMENT there, which never
reuses an id (PostgreSQL's sequences never do).

Revision ID: 0010_class_modes
Revises: 0009
Create Date: 2026-12-03 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010_class_modes'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_learner(autoincrement=True)
    op.create_table('roster_entry',
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['learner.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('learner_id')
    )
    op.create_table('learner_merge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kept_id', sa.Integer(), nullable=True),
    sa.Column('merged_id', sa.Integer(), nullable=False),
    sa.Column('merged_name', sa.String(length=80), nullable=False),
    sa.Column('attempts_moved', sa.Integer(), nullable=False),
    sa.Column('instructor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['kept_id'], ['learner.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['instructor_id'], ['instructor.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('learner_merge', schema=None) as batch_op:
        batch_op.create_index('ix_learner_merge_kept_id', ['kept_id'], unique=False)


def downgrade() -> None:
    """Revert this revision; the class mode's setting row is left, unread."""
    with op.batch_alter_table('learner_merge', schema=None) as batch_op:
        batch_op.drop_index('ix_learner_merge_kept_id')
    op.drop_table('learner_merge')
    op.drop_table('roster_entry')
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_learner(autoincrement=False)


def _rebuild_learner(autoincrement: bool) -> None:
    """Copy ``learner`` into a table made with or without SQLite's AUTOINCREMENT."""
    with op.batch_alter_table(
        'learner', recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}
    ):
        pass
