"""One-time links of the account lifecycle: password resets, email verification, invitations."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import IdMixin, Model, UTCDateTime, utcnow

PURPOSES = ("password_reset", "email_verification", "invitation")


class AccountToken(IdMixin, Model):
    """A link sent by email. Only a SHA-256 of its secret is stored; each works once.

    `user_id` names the account a reset or verification is for; an invitation
    has none yet (`email` and `role` say who joins as what, `created_by` who
    invited them).
    """

    __tablename__ = "account_tokens"
    __table_args__ = (sa.CheckConstraint(f"purpose IN {PURPOSES}", name="purpose"),)

    purpose: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(320), nullable=False)
    role: Mapped[str | None] = mapped_column(sa.String(20))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
