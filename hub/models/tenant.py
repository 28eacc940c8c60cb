"""Tenants: every domain row belongs to exactly one."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import IdMixin, Model, TimestampMixin

TIERS = ("free", "standard", "enterprise")


class Tenant(IdMixin, TimestampMixin, Model):
    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    tier: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="standard")
    is_active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
