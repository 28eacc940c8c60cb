"""Payments: invoices, which Stripe customers/accounts are whose, the event inbox, reconciliations."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import IdMixin, Model, TimestampMixin, UTCDateTime, utcnow

INVOICE_STATUSES = ("draft", "open", "paid", "partially_paid", "void")
LINK_KINDS = ("customer", "account")
RECONCILIATION_STATUSES = ("queued", "running", "succeeded", "failed")
MONEY = sa.BigInteger()


class Invoice(IdMixin, TimestampMixin, Model):
    """A tenant's invoice. Amounts are in minor units (cents) of `currency`."""

    __tablename__ = "invoices"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number", name="uq_invoices_tenant_number"),
        sa.Index("ix_invoices_tenant_due", "tenant_id", "due_date"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    number: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    customer_ref: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    amount: Mapped[int] = mapped_column(MONEY, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    due_date: Mapped[date] = mapped_column(sa.Date, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="open")
    description: Mapped[str | None] = mapped_column(sa.String(500))
    stripe_customer_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    stripe_invoice_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    stripe_charge_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    # What Stripe says was received and refunded (merged with max(): Stripe's
    # counters only grow, so events applied in any order, or twice, agree).
    amount_paid: Mapped[int] = mapped_column(MONEY, nullable=False, default=0, server_default="0")
    amount_refunded: Mapped[int] = mapped_column(MONEY, nullable=False, default=0, server_default="0")
    voided: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False,
                                         server_default=sa.false())
    payment_attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    last_payment_error: Mapped[str | None] = mapped_column(sa.String(500))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)


class StripeLink(IdMixin, Model):
    """A Stripe customer (or connected account) and the tenant it belongs to.

    Events are routed to tenants through these rows only, never through what a
    payload claims. A Stripe id belongs to at most one tenant.
    """

    __tablename__ = "stripe_links"
    __table_args__ = (sa.UniqueConstraint("kind", "stripe_id", name="uq_stripe_links_kind_stripe_id"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(sa.String(16), nullable=False)  # customer | account
    stripe_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)


class StripeEvent(Model):
    """The webhook inbox: each Stripe event once, keyed by its id."""

    __tablename__ = "stripe_events"
    __table_args__ = (sa.Index("ix_stripe_events_received", "received_at"),)

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    account: Mapped[str | None] = mapped_column(sa.String(255))
    object_type: Mapped[str | None] = mapped_column(sa.String(64))
    object_id: Mapped[str | None] = mapped_column(sa.String(255))
    livemode: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False,
                                           server_default=sa.false())
    stripe_created: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    # received -> queued (a job per tenant it concerns) | unrouted (no tenant knows it) | ignored;
    # queued -> processed. An event whose job fails stays queued: the job's retry (or a
    # manual one) applies it later, and retention keeps it as the thing to investigate.
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="received")
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="SET NULL"), index=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Reconciliation(IdMixin, TimestampMixin, Model):
    """One reconciliation run (a `payments.reconcile` job) and its report."""

    __tablename__ = "reconciliations"
    __table_args__ = (
        sa.Index("ix_reconciliations_tenant_created", "tenant_id", "created_at"),
        # One nightly run per tenant and day, one run per payout.
        sa.UniqueConstraint("tenant_id", "dedupe_key", name="uq_reconciliations_tenant_dedupe"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    # Jobs are purged after JOB_RETENTION_DAYS; the report stays.
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("jobs.id", ondelete="SET NULL"), unique=True)
    period_from: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    period_to: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    payout_id: Mapped[str | None] = mapped_column(sa.String(255))
    trigger: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="api")
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="queued")
    report: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
