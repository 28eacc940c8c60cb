"""jobs: a version that grows on every write, to order job.updated events

Revision ID: 0010_job_version
Revises: 0009_chaos
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_job_version'
down_revision = '0009_chaos'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.BigInteger(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('version')
