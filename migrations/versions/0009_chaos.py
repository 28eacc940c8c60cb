"""demo: side effects of recorded demo.sleep runs, counted by the chaos run

Revision ID: 0009_chaos
Revises: 0008_connections
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_chaos'
down_revision = '0008_connections'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('demo_effects',
    sa.Column('job_id', sa.Uuid(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_demo_effects_job_id_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', 'attempt', name=op.f('pk_demo_effects'))
    )


def downgrade():
    op.drop_table('demo_effects')
