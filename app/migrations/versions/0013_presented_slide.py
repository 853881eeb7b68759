"""the slide the presenter shows, for the follow-along page

One row: the question (by uuid) and demo on the presenter's screen, with a revision that
grows at each change, so the follow-along streams of every web process see it. The row
is made here, empty, so that two presenters' first clicks update it rather than race to
insert it.

Revision ID: 0013_presented_slide
Revises: 0012_learner_sessions
Create Date: 2026-12-03 13:30:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0013_presented_slide'
down_revision: str | None = '0012_learner_sessions'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('presented_slide',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.String(length=36), nullable=True),
    sa.Column('demo_index', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    slide = sa.table(
        'presented_slide',
        sa.column('id', sa.Integer()),
        sa.column('demo_index', sa.Integer()),
        sa.column('revision', sa.Integer()),
        sa.column('updated_at', sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    op.bulk_insert(slide, [{'id': 1, 'demo_index': 0, 'revision': 0, 'updated_at': now}])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table('presented_slide')
