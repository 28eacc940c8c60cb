"""jobs: the traceparent of the request that created a job, so its attempts join that trace

Revision ID: 0012_job_traceparent
Revises: 0011_account_tokens
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_job_traceparent'
down_revision = '0011_account_tokens'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('traceparent', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('traceparent')
