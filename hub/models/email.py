"""Email: how many recipients each tenant has sent to per UTC day (the daily limit)."""
from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Model


class EmailDailyUsage(Model):
    """One row per tenant and UTC day; `recipients` counts accepted sends against EMAIL_DAILY_LIMIT."""

    __tablename__ = "email_daily_usage"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    recipients: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
