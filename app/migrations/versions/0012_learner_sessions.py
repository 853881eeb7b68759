"""learner sign-in codes, server-side sessions and name skeletons

Each learner gets a learner_identity row holding their name's confusable skeletons
(unique) and, once issued, their sign-in code's hash. Learners from before have no code:
the first browser that comes back with their old cookie gets one (docs/security.md). Of
two existing learners whose names look alike, the later keeps NULL skeletons, so the
upgrade never fails on them; new names confusable with either are still refused.

Revision ID: 0012_learner_sessions
Revises: 0011_lti
Create Date: 2026-12-03 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012_learner_sessions'
down_revision: str | None = '0011_lti'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('learner_identity',
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('skeleton', sa.String(length=400), nullable=True),
    sa.Column('cased_skeleton', sa.String(length=400), nullable=True),
    sa.Column('code_hash', sa.String(length=255), nullable=True),
    sa.Column('code_issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['learner_id'], ['learner.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('learner_id'),
    sa.UniqueConstraint('cased_skeleton'),
    sa.UniqueConstraint('skeleton')
    )
    op.create_table('learner_session',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['learner.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash')
    )
    with op.batch_alter_table('learner_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_learner_session_learner_id'), ['learner_id'], unique=False)
    _fill_skeletons()


def _fill_skeletons() -> None:
    """Give every existing learner their skeletons; a later look-alike keeps NULL."""
    from app.validation import name_shape  # ICU's data, as new names get

    bind = op.get_bind()
    rows = bind.execute(sa.text('SELECT id, display_name FROM learner ORDER BY id')).all()
    seen: set[str] = set()
    seen_cased: set[str] = set()
    identities = []
    for learner_id, display_name in rows:
        shape = name_shape(display_name)
        clash = shape.folded in seen or shape.cased in seen_cased
        seen.add(shape.folded)
        seen_cased.add(shape.cased)
        identities.append({
            'learner_id': learner_id,
            'skeleton': None if clash else shape.folded,
            'cased_skeleton': None if clash else shape.cased,
        })
    if identities:
        bind.execute(
            sa.text(
                'INSERT INTO learner_identity (learner_id, skeleton, cased_skeleton) '
                'VALUES (:learner_id, :skeleton, :cased_skeleton)'
            ),
            identities,
        )


def downgrade() -> None:
    """Revert this revision: learners are known by their names alone again."""
    with op.batch_alter_table('learner_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_learner_session_learner_id'))
    op.drop_table('learner_session')
    op.drop_table('learner_identity')
