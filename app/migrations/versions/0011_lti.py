"""lti 1.3 platforms

The LMSs registered to launch tfquiz as an LTI 1.3 tool and their deployments; what
lasts from an OIDC login to its launch; the platforms' users and who they sign in as; resource links, who launched them, and the
outbox of scores sent back (Assignment and Grade Services), and the roster sync of each
link (Names and Role Provisioning).

Revision ID: 0011_lti
Revises: 0010_class_modes
Create Date: 2026-12-03 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011_lti'
down_revision: str | None = '0010_class_modes'
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
    op.create_table(
        'lti_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('resource_link_id', sa.String(length=255), nullable=False),
        sa.Column('deployment_id', sa.String(length=255), nullable=False),
        sa.Column('context_id', sa.String(length=255), nullable=True),
        sa.Column('title', sa.String(length=255), nullable=True),
        sa.Column('question_id', sa.String(length=36), nullable=True),
        sa.Column('grade_mode', sa.String(length=16), nullable=False),
        sa.Column('ags_scopes', sa.JSON(), nullable=False),
        sa.Column('lineitems_url', sa.String(length=2000), nullable=True),
        sa.Column('lineitem_url', sa.String(length=2000), nullable=True),
        sa.Column('memberships_url', sa.String(length=2000), nullable=True),
        sa.Column('roster_wanted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('roster_synced_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('roster_error', sa.Text(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['platform_id'], ['lti_platform.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('platform_id', 'resource_link_id', name='uq_lti_link'),
    )
    op.create_table(
        'lti_link_user',
        sa.Column('link_id', sa.Integer(), nullable=False),
        sa.Column('lti_user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['link_id'], ['lti_link.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['lti_user_id'], ['lti_user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('link_id', 'lti_user_id'),
    )
    op.create_index('ix_lti_link_user_lti_user_id', 'lti_link_user', ['lti_user_id'])
    op.create_table(
        'lti_score_send',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('link_id', sa.Integer(), nullable=False),
        sa.Column('lti_user_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.String(length=36), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('score_given', sa.Float(), nullable=True),
        sa.Column('score_maximum', sa.Float(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['link_id'], ['lti_link.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['lti_user_id'], ['lti_user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_lti_score_send_due', 'lti_score_send', ['status', 'next_try_at'])
    op.create_index('ix_lti_score_send_lti_user_id', 'lti_score_send', ['lti_user_id'])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index('ix_lti_score_send_lti_user_id', table_name='lti_score_send')
    op.drop_index('ix_lti_score_send_due', table_name='lti_score_send')
    op.drop_table('lti_score_send')
    op.drop_index('ix_lti_link_user_lti_user_id', table_name='lti_link_user')
    op.drop_table('lti_link_user')
    op.drop_table('lti_link')
    op.drop_index('ix_lti_user_learner_id', table_name='lti_user')
    op.drop_table('lti_user')
    op.drop_index('ix_lti_launch_value_expires_at', table_name='lti_launch_value')
    op.drop_table('lti_launch_value')
    op.drop_table('lti_deployment')
    op.drop_table('lti_platform')
