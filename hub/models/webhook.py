"""Outbound webhooks: a tenant's endpoints, the messages sent to them, and each attempt."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models.base import IdMixin, Model, TimestampMixin, UTCDateTime, utcnow

DELIVERY_STATUSES = ("pending", "delivered", "failed")


# `disabled_reason` when a person switched the endpoint off (any other reason: the hub did).
USER_DISABLED_REASON = "disabled by a user"


class WebhookEndpoint(IdMixin, TimestampMixin, Model):
    """Where a tenant wants events sent. The signing secrets are stored encrypted."""

    __tablename__ = "webhook_endpoints"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)
    url: Mapped[str] = mapped_column(sa.String(2048), nullable=False)
    description: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    events: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True,
                                          server_default=sa.true())
    # Fernet tokens (hub.services.encryption), never the secret itself.
    secret_encrypted: Mapped[str] = mapped_column(sa.Text, nullable=False)
    # After a rotation the old secret signs too, until previous_secret_expires_at.
    previous_secret_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(200))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Start of the current run of failed attempts (None after a success): five
    # days of nothing but failures disables the endpoint.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)


class WebhookDelivery(IdMixin, TimestampMixin, Model):
    """One event for one endpoint (one `webhook-id`), sent until delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
        sa.Index("ix_webhook_deliveries_tenant_created", "tenant_id", "created_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False)
    event_type: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    # The exact JSON body sent (kept as text so every attempt and replay signs the same bytes).
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="pending")
    attempt_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    last_status_code: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The latest webhook.deliver job sending it (jobs are purged later; no foreign key).
    job_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    request_id: Mapped[str | None] = mapped_column(sa.String(128))

    attempts: Mapped[list[WebhookAttempt]] = relationship(
        back_populates="delivery", order_by="WebhookAttempt.id", cascade="all, delete-orphan",
        passive_deletes=True)

    @property
    def webhook_id(self) -> str:
        """The `webhook-id` header: the same for every attempt and replay."""
        return f"msg_{self.id.hex}"


class WebhookAttempt(Model):
    """One HTTP request of a delivery, as the delivery log shows it."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(sa.BigInteger(),
                                    primary_key=True, autoincrement=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False, index=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    attempt: Mapped[int] = mapped_column(sa.Integer, nullable=False)  # of its job
    # delivered | retry | failed | disabled | refused
    outcome: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    status_code: Mapped[int | None] = mapped_column(sa.Integer)
    duration_ms: Mapped[float | None] = mapped_column(sa.Float)
    response_body: Mapped[str | None] = mapped_column(sa.Text)  # truncated
    error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempts")
