"""LTI 1.3: platforms, deployments, the tool's keys, launch states, grade links, passbacks

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 15:30:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade():
    op.create_table('lti_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('private_pem', sa.Text(), nullable=False),
    sa.Column('created_at', TZ, nullable=False),
    sa.Column('retired_at', TZ, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_keys')),
    sa.UniqueConstraint('kid', name=op.f('uq_lti_keys_kid'))
    )
    op.create_table('lti_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('login_url', sa.String(length=1000), nullable=False),
    sa.Column('token_url', sa.String(length=1000), nullable=False),
    sa.Column('jwks_url', sa.String(length=1000), nullable=False),
    sa.Column('created_at', TZ, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_registrations')),
    sa.UniqueConstraint('issuer', 'client_id', name=op.f('uq_lti_registrations_issuer'))
    )
    op.create_table('lti_deployments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.String(length=200), nullable=False),
    sa.Column('created_at', TZ, nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['lti_registrations.id'], name=op.f('fk_lti_deployments_registration_id_lti_registrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_deployments')),
    sa.UniqueConstraint('registration_id', 'deployment_id', name=op.f('uq_lti_deployments_registration_id'))
    )
    op.create_table('lti_launch_states',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('created_at', TZ, nullable=False),
    sa.Column('used_at', TZ, nullable=True),
    sa.ForeignKeyConstraint(['registration_id'], ['lti_registrations.id'], name=op.f('fk_lti_launch_states_registration_id_lti_registrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_launch_states')),
    sa.UniqueConstraint('nonce', name=op.f('uq_lti_launch_states_nonce')),
    sa.UniqueConstraint('state', name=op.f('uq_lti_launch_states_state'))
    )
    op.create_table('lti_contexts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('context_id', sa.String(length=255), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('memberships_url', sa.String(length=1000), nullable=True),
    sa.Column('created_at', TZ, nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['lti_registrations.id'], name=op.f('fk_lti_contexts_registration_id_lti_registrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_lti_contexts_course_id_courses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_contexts')),
    sa.UniqueConstraint('registration_id', 'context_id', name=op.f('uq_lti_contexts_registration_id'))
    )
    with op.batch_alter_table('lti_contexts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_contexts_course_id'), ['course_id'], unique=False)

    op.create_table('lti_grade_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('lineitem_url', sa.String(length=1000), nullable=False),
    sa.Column('created_at', TZ, nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_lti_grade_links_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['registration_id'], ['lti_registrations.id'], name=op.f('fk_lti_grade_links_registration_id_lti_registrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lti_grade_links_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_grade_links')),
    sa.UniqueConstraint('user_id', 'assignment_id', 'lineitem_url', name=op.f('uq_lti_grade_links_user_id'))
    )
    with op.batch_alter_table('lti_grade_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_grade_links_user_id'), ['user_id'], unique=False)

    op.create_table('lti_passbacks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grade_link_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('score_given', sa.Float(), nullable=True),
    sa.Column('score_maximum', sa.Float(), nullable=False),
    sa.Column('grading_progress', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', TZ, nullable=False),
    sa.Column('sent_at', TZ, nullable=True),
    sa.CheckConstraint("state IN ('pending', 'sent', 'failed', 'superseded')", name=op.f('ck_lti_passbacks_state')),
    sa.ForeignKeyConstraint(['grade_link_id'], ['lti_grade_links.id'], name=op.f('fk_lti_passbacks_grade_link_id_lti_grade_links'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_lti_passbacks_submission_id_submissions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_passbacks'))
    )
    with op.batch_alter_table('lti_passbacks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_passbacks_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_passbacks_grade_link_id'), ['grade_link_id'], unique=False)


def downgrade():
    op.drop_table('lti_passbacks')
    op.drop_table('lti_grade_links')
    op.drop_table('lti_contexts')
    op.drop_table('lti_launch_states')
    op.drop_table('lti_deployments')
    op.drop_table('lti_registrations')
    op.drop_table('lti_keys')
