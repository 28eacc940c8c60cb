"""Third-party sync: a tenant's connections to outside systems, and the records they bring in."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import IdMixin, Model, TimestampMixin, UTCDateTime, utcnow

CONNECTION_STATUSES = ("ok", "needs_attention")


class Connection(IdMixin, TimestampMixin, Model):
    """One configured source of a tenant, with the sync engine's state.

    Sync state, committed together with each page's records: `cursor` is where
    the next fetch starts, `run_counts` what the current run did so far. A run
    that stops half way (a crash, a failure) leaves `run_active` set, and the
    next attempt or sync resumes from `cursor` instead of starting over.
    """

    __tablename__ = "connections"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)
    connector: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    config: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    # A Fernet token of the credentials' JSON (hub.services.encryption); never the plain value.
    credentials_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    # Schedule: every N seconds, or a cron expression (UTC), or neither (manual only).
    schedule_interval: Mapped[int | None] = mapped_column(sa.Integer)
    schedule_cron: Mapped[str | None] = mapped_column(sa.String(100))
    next_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(sa.String(32), nullable=False, default="ok")
    status_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # The sync.run job that owns the connection now or last did: at most one runs at a time.
    sync_job_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    cursor: Mapped[Any] = mapped_column(sa.JSON, nullable=True)
    run_number: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    run_active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False,
                                             server_default=sa.false())
    run_full_pass: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False,
                                                server_default=sa.false())
    run_counts: Mapped[dict[str, int] | None] = mapped_column(sa.JSON)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_status: Mapped[str | None] = mapped_column(sa.String(16))
    last_sync_counts: Mapped[dict[str, int] | None] = mapped_column(sa.JSON)
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)

    @property
    def schedule(self) -> dict[str, Any] | None:
        if self.schedule_interval:
            return {"interval_seconds": self.schedule_interval}
        if self.schedule_cron:
            return {"cron": self.schedule_cron}
        return None


class SyncRecord(Model):
    """One item a connection brought in, keyed by (connection, external id)."""

    __tablename__ = "sync_records"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "external_id", name="uq_sync_records_connection_external"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger(),
                                    primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    connection_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("connections.id", ondelete="CASCADE"), nullable=False)
    external_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    content_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    # The run that last saw it: a full pass marks the ones it did not see as deleted.
    seen_run: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
