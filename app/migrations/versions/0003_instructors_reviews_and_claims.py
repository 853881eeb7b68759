"""instructors, reviews and claims

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 14:35:02.474473
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('instructor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
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

    op.create_table('quiz_setting',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('setup_token',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_table('instructor_session',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('instructor_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instructor_id'], ['instructor.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash')
    )
    with op.batch_alter_table('instructor_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instructor_session_instructor_id'), ['instructor_id'], unique=False)

    op.create_table('attempt_misconception',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('misconception_id', sa.String(length=64), nullable=False),
    sa.Column('question_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('attempt_id', 'misconception_id')
    )
    with op.batch_alter_table('attempt_misconception', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempt_misconception_question_number'), ['question_number'], unique=False)

    op.create_table('attempt_point',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.String(length=64), nullable=False),
    sa.Column('question_number', sa.Integer(), nullable=False),
    sa.Column('met', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('attempt_id', 'point_id')
    )
    with op.batch_alter_table('attempt_point', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempt_point_question_number'), ['question_number'], unique=False)

    op.create_table('claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.String(length=64), nullable=False),
    sa.Column('justification', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by'], ['instructor.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('attempt_id', 'point_id')
    )
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_attempt_id'), ['attempt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_status'), ['status'], unique=False)

    op.create_table('score_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('instructor_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('old_score', sa.Float(), nullable=False),
    sa.Column('new_score', sa.Float(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['instructor_id'], ['instructor.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('score_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_score_change_attempt_id'), ['attempt_id'], unique=False)

    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('final_score', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('final_points', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('override_comment', sa.Text(), nullable=True))
    op.execute("UPDATE attempt SET final_score = score, final_points = points")
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.alter_column('final_score', existing_type=sa.Float(), nullable=False)
        batch_op.alter_column('final_points', existing_type=sa.Float(), nullable=False)
    _backfill_points()


def _backfill_points() -> None:
    """Fill the per-point rows of attempts recorded before this revision."""
    bind = op.get_bind()
    attempt = sa.table(
        'attempt', sa.column('id', sa.Integer), sa.column('question_number', sa.Integer),
        sa.column('breakdown', sa.JSON),
    )
    points, misconceptions = [], []
    for row in bind.execute(sa.select(attempt.c.id, attempt.c.question_number, attempt.c.breakdown)):
        for point in row.breakdown.get('key_points', []):
            points.append({'attempt_id': row.id, 'point_id': point['id'],
                           'question_number': row.question_number, 'met': bool(point['met'])})
        for found in row.breakdown.get('misconceptions', []):
            misconceptions.append({'attempt_id': row.id, 'misconception_id': found['id'],
                                   'question_number': row.question_number})
    if points:
        op.bulk_insert(sa.table('attempt_point', sa.column('attempt_id'), sa.column('point_id'),
                                sa.column('question_number'), sa.column('met')), points)
    if misconceptions:
        op.bulk_insert(sa.table('attempt_misconception', sa.column('attempt_id'),
                                sa.column('misconception_id'), sa.column('question_number')),
                       misconceptions)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_column('override_comment')
        batch_op.drop_column('final_points')
        batch_op.drop_column('final_score')

    with op.batch_alter_table('score_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_score_change_attempt_id'))

    op.drop_table('score_change')
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_status'))
        batch_op.drop_index(batch_op.f('ix_claim_attempt_id'))

    op.drop_table('claim')
    with op.batch_alter_table('attempt_point', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempt_point_question_number'))

    op.drop_table('attempt_point')
    with op.batch_alter_table('attempt_misconception', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempt_misconception_question_number'))

    op.drop_table('attempt_misconception')
    with op.batch_alter_table('instructor_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instructor_session_instructor_id'))

    op.drop_table('instructor_session')
    op.drop_table('setup_token')
    op.drop_table('quiz_setting')
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempt_address')
        batch_op.drop_index('ix_login_attempt_account')

    op.drop_table('login_attempt')
    op.drop_table('instructor')
