"""Users and their API keys."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models.base import IdMixin, Model, TimestampMixin, UTCDateTime
from hub.models.tenant import Tenant

ROLES = ("owner", "admin", "member")
ADMIN_ROLES = ("owner", "admin")


class User(IdMixin, TimestampMixin, Model):
    __tablename__ = "users"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)
    # Emails are unique across the hub: login takes an email, not a tenant.
    email: Mapped[str] = mapped_column(sa.String(320), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    password_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    role: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="member")
    is_staff: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the user proved they receive mail at `email` (a verification link, a password
    # reset or an invitation); with ACCOUNT_EMAIL_VERIFICATION on, login waits for it.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tenant: Mapped[Tenant] = relationship(lazy="joined")

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES


class ApiKey(IdMixin, TimestampMixin, Model):
    """A server-to-server credential. Only a hash of the secret is stored."""

    __tablename__ = "api_keys"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    role: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="member")
    # The public part of the key, used to find the row without scanning hashes.
    prefix: Mapped[str] = mapped_column(sa.String(16), nullable=False, unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tenant: Mapped[Tenant] = relationship(lazy="joined")
