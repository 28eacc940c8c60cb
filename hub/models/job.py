"""The job ledger: one row per job, and an append-only log of its events."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import IdMixin, Model, TimestampMixin, UTCDateTime, utcnow

STATUSES = ("queued", "running", "retrying", "succeeded", "failed", "cancelled")
ACTIVE_STATUSES = ("queued", "running", "retrying")
FINISHED_STATUSES = ("succeeded", "failed", "cancelled")
# A job handed to the broker and not finished: it holds one of its tenant's
# slots. Literal SQL so PostgreSQL can match the partial index to the query.
IN_FLIGHT_SQL = "dispatched_at IS NOT NULL AND status IN ('queued', 'running', 'retrying')"
# Not handed to the broker yet: the outbox the scheduler picks from.
WAITING_SQL = "dispatched_at IS NULL AND status IN ('queued', 'retrying')"
PRIORITIES = ("low", "normal", "high")  # stored as their index: higher runs first


class Job(IdMixin, TimestampMixin, Model):
    __tablename__ = "jobs"
    __table_args__ = (
        sa.Index("ix_jobs_tenant_created", "tenant_id", "created_at"),
        # The relay's scan: active jobs by dispatch state and due time.
        sa.Index("ix_jobs_relay", "status", "dispatched_at", "next_attempt_at"),
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        # Slot accounting counts a tenant's dispatched, unfinished jobs on every
        # dispatch; this keeps that count independent of the tenant's history.
        sa.Index("ix_jobs_tenant_in_flight", "tenant_id",
                 postgresql_where=sa.text(IN_FLIGHT_SQL)),
        # The scheduler's pick: a tenant's waiting jobs in the order its turns take them.
        sa.Index("ix_jobs_tenant_waiting", "tenant_id", sa.text("priority DESC"),
                 sa.text("coalesce(next_attempt_at, created_at)"),
                 postgresql_where=sa.text(WAITING_SQL)),
        # Whether anyone already waits for a key (a new job then queues behind them).
        sa.Index("ix_jobs_waiting_for", "waiting_for",
                 postgresql_where=sa.text(WAITING_SQL + " AND waiting_for IS NOT NULL")),
        # Who waits for a flow-control key that just came free.
        sa.Index("ix_jobs_waiting_flow_keys", "flow_keys", postgresql_using="gin",
                 postgresql_where=sa.text(WAITING_SQL + " AND flow_keys <> '{}'")),
    )
    # A flush reads the new version back in its UPDATE (RETURNING), so a payload
    # built right after needs no second query.
    __mapper_args__ = {"eager_defaults": True}

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    type: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    queue: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="queued")
    progress: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    message: Mapped[str | None] = mapped_column(sa.String(500))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    result: Mapped[Any | None] = mapped_column(sa.JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    # When the next attempt may start (run_at, or a parked retry); None = now.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None = not handed to the broker yet (the outbox); the relay sends those.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A running attempt owns the job through its lease token until the lease expires.
    lease_token: Mapped[str | None] = mapped_column(sa.String(36))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(sa.String(200))
    request_id: Mapped[str | None] = mapped_column(sa.String(128))
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    created_by_api_key: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    # W3C `traceparent` of the request that created the job (set only while tracing is
    # on, hub/tracing.py): whoever dispatches it later, its attempts join that trace.
    traceparent: Mapped[str | None] = mapped_column(sa.String(64))
    # Opt-in: email the creator when the job finishes (succeeded or failed).
    notify: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False,
                                         server_default=sa.false())
    # 0 low, 1 normal, 2 high: the order of a tenant's own waiting jobs, never its turn.
    priority: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False, default=1,
                                          server_default="1")
    # Flow-control keys every attempt holds (`smtp`, `webhook-endpoint:<id>`, ...); the
    # limits are FLOW_LIMITS'. Fixed when the job is created.
    flow_keys: Mapped[list[str]] = mapped_column(postgresql.ARRAY(sa.String(200)), nullable=False,
                                                 server_default="{}")
    # The limit a waiting job is held back by (a key, or `tenant` for its tier's slots).
    waiting_for: Mapped[str | None] = mapped_column(sa.String(200))
    # Grows by one in the same statement as every write of the row (ORM flush or
    # Core UPDATE alike), under the row's lock, so it orders the job's states
    # across processes where clocks (updated_at) cannot. Clients drop a
    # job.updated whose version is not above the one they hold.
    version: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=1, server_default="1",
                                         onupdate=sa.text("version + 1"))


class JobEvent(Model):
    """A transition or progress step of a job, oldest first by id."""

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(sa.BigInteger(),
                                    primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(sa.String(16), nullable=False)  # transition | progress
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    progress: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    message: Mapped[str | None] = mapped_column(sa.String(500))
    attempt: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    request_id: Mapped[str | None] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class IdempotencyRecord(Model):
    """The first answer to a create request, replayed for the same key and body."""

    __tablename__ = "idempotency_keys"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    status_code: Mapped[int | None] = mapped_column(sa.Integer)  # None while in progress
    response: Mapped[Any | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)


class FlowRate(Model):
    """A rate-limited flow-control key: when its next attempt may start (GCRA's
    theoretical arrival time). Global to every process; survives restarts."""

    __tablename__ = "flow_rates"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # The same pacing as attempts really start (a worker busy at a job's granted time
    # starts it late, and late starts must not bunch up at the provider).
    started_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FlowTurn(Model):
    """When a tenant last had a job admitted on a key: who had the key least lately
    gets the first turn at it when tenants contend for it."""

    __tablename__ = "flow_turns"
    __table_args__ = (sa.Index("ix_flow_turns_tenant", "tenant_id", "served_at"),)

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    served_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
