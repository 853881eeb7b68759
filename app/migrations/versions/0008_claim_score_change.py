"""claims point to their score change

A claim's decision and the score change it left were paired by equal times; the claim now
holds the change's id. Existing decided claims are paired by the old rule: the change of
kind claim or claim-rejected on the same attempt at the claim's ``decided_at``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('score_change_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            'fk_claim_score_change', 'score_change', ['score_change_id'], ['id'],
            ondelete='SET NULL',
        )
    op.execute(
        "UPDATE claim SET score_change_id = ("
        " SELECT MIN(score_change.id) FROM score_change"
        " WHERE score_change.attempt_id = claim.attempt_id"
        " AND score_change.created_at = claim.decided_at"
        " AND score_change.kind IN ('claim', 'claim-rejected'))"
        " WHERE decided_at IS NOT NULL"
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_constraint('fk_claim_score_change', type_='foreignkey')
        batch_op.drop_column('score_change_id')
