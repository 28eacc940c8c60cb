"""jobs: notify flag, and an index for counting a tenant's jobs in flight

Revision ID: 0003_job_notify
Revises: 0002_job_ledger
Create Date: 2026-11-27 09:52:19.162923

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_job_notify'
down_revision = '0002_job_ledger'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify', sa.Boolean(), server_default=sa.false(), nullable=False))
    in_flight = sa.text("dispatched_at IS NOT NULL AND status IN ('queued', 'running', 'retrying')")
    op.create_index('ix_jobs_tenant_in_flight', 'jobs', ['tenant_id'], unique=False,
                    postgresql_where=in_flight, sqlite_where=in_flight)



def downgrade():
    op.drop_index('ix_jobs_tenant_in_flight', table_name='jobs')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('notify')

