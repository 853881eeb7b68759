"""demo run cache

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 14:22:42.547720
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""

    op.create_table('demo_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snippet_hash', sa.String(length=64), nullable=False),
    sa.Column('tf_version', sa.String(length=40), nullable=False),
    sa.Column('device_kind', sa.String(length=10), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('snippet_hash', 'tf_version', 'device_kind')
    )



def downgrade() -> None:
    """Revert this revision."""

    op.drop_table('demo_run')

