"""lti 1.3 platforms

The LMSs registered to launch tfquiz as an LTI 1.3 tool and their deployments; what
lasts from an OIDC login to its launch; the platforms' users and who they sign in as.

Revision ID: 0010_lti
Revises: 0009
Create Date: 2026-12-03 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010_lti'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        'lti_platform',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('issuer', sa.String(length=255), nullable=False),
        sa.Column('client_id', sa.String(length=255), nullable=False),
        sa.Column('login_url', sa.String(length=2000), nullable=False),
        sa.Column('token_url', sa.String(length=2000), nullable=False),
        sa.Column('jwks_url', sa.String(length=2000), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('issuer', 'client_id', name='uq_lti_platform_client'),
    )
    op.create_table(
        'lti_deployment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('deployment_id', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['platform_id'], ['lti_platform.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('platform_id', 'deployment_id', name='uq_lti_deployment'),
    )
    op.create_table(
        'lti_launch_value',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('value', sa.JSON(), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index('ix_lti_launch_value_expires_at', 'lti_launch_value', ['expires_at'])
    op.create_table(
        'lti_user',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('sub', sa.String(length=255), nullable=False),
        sa.Column('learner_id', sa.Integer(), nullable=True),
        sa.Column('instructor_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['platform_id'], ['lti_platform.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['learner_id'], ['learner.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['instructor_id'], ['instructor.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('platform_id', 'sub', name='uq_lti_user'),
    )
    op.create_index('ix_lti_user_learner_id', 'lti_user', ['learner_id'])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index('ix_lti_user_learner_id', table_name='lti_user')
    op.drop_table('lti_user')
    op.drop_index('ix_lti_launch_value_expires_at', table_name='lti_launch_value')
    op.drop_table('lti_launch_value')
    op.drop_table('lti_deployment')
    op.drop_table('lti_platform')
