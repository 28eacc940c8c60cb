"""jobs: priority, flow-control keys and what a waiting job waits for; flow_rates, flow_turns

Revision ID: 0013_scheduler
Revises: 0012_job_traceparent
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0013_scheduler'
down_revision = '0012_job_traceparent'
branch_labels = None
depends_on = None

WAITING = "dispatched_at IS NULL AND status IN ('queued', 'retrying')"


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.SmallInteger(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('flow_keys', postgresql.ARRAY(sa.String(length=200)),
                                      server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('waiting_for', sa.String(length=200), nullable=True))
    op.create_index('ix_jobs_tenant_waiting', 'jobs',
                    ['tenant_id', sa.text('priority DESC'),
                     sa.text('coalesce(next_attempt_at, created_at)')],
                    postgresql_where=sa.text(WAITING))
    op.create_index('ix_jobs_waiting_flow_keys', 'jobs', ['flow_keys'], postgresql_using='gin',
                    postgresql_where=sa.text(WAITING + " AND flow_keys <> '{}'"))
    op.create_index('ix_jobs_waiting_for', 'jobs', ['waiting_for'],
                    postgresql_where=sa.text(WAITING + " AND waiting_for IS NOT NULL"))
    op.create_table(
        'flow_rates',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('next_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_next_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_flow_rates')),
    )
    op.create_table(
        'flow_turns',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('tenant_id', sa.Uuid(), nullable=False),
        sa.Column('served_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_flow_turns_tenant_id_tenants'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('key', 'tenant_id', name=op.f('pk_flow_turns')),
    )
    op.create_index('ix_flow_turns_tenant', 'flow_turns', ['tenant_id', 'served_at'])


def downgrade():
    op.drop_index('ix_flow_turns_tenant', table_name='flow_turns')
    op.drop_table('flow_turns')
    op.drop_table('flow_rates')
    op.drop_index('ix_jobs_waiting_for', table_name='jobs')
    op.drop_index('ix_jobs_waiting_flow_keys', table_name='jobs')
    op.drop_index('ix_jobs_tenant_waiting', table_name='jobs')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('waiting_for')
        batch_op.drop_column('flow_keys')
        batch_op.drop_column('priority')
