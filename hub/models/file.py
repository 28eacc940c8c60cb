"""Uploaded files: one row per object in storage, and what processing found."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models.base import IdMixin, Model, TimestampMixin, UTCDateTime
from hub.models.job import Job

# pending: presigned, waiting for the direct upload; uploaded: in storage,
# processing queued or running; processed / failed: what processing ended with.
FILE_STATUSES = ("pending", "uploaded", "processed", "failed")


class File(IdMixin, TimestampMixin, Model):
    __tablename__ = "files"
    __table_args__ = (
        sa.Index("ix_files_tenant_created", "tenant_id", "created_at"),
        sa.CheckConstraint("size IS NULL OR size >= 0", name="size_positive"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    # The client's name for it, sanitized; never part of the storage key.
    filename: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    # What the bytes are once processed; until then what the client declared.
    content_type: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    declared_content_type: Mapped[str | None] = mapped_column(sa.String(255))
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    # A direct (presigned) upload promises this size; `complete` checks it.
    expected_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="uploaded")
    storage_backend: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    storage_key: Mapped[str] = mapped_column(sa.String(1024), nullable=False)
    thumbnail_key: Mapped[str | None] = mapped_column(sa.String(1024))
    # `metadata` is taken on declarative classes; the column keeps the API's name.
    file_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", sa.JSON, nullable=False,
                                                          default=dict)
    # Declared at upload/presign time: the columns a CSV must have.
    csv_schema: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("jobs.id", ondelete="SET NULL"), index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    created_by_api_key: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    job: Mapped[Job | None] = relationship(lazy="selectin")
