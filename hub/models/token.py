"""Refresh-token families and revoked tokens: the durable side of JWT auth."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import IdMixin, Model, UTCDateTime, utcnow


class TokenFamily(IdMixin, Model):
    """All refresh tokens descended from one login.

    Presenting a spent refresh token means it was stolen or replayed, so the
    whole family is revoked and every token in it stops working.
    """

    __tablename__ = "token_families"

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(50))


class RefreshToken(Model):
    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("token_families.id", ondelete="CASCADE"), nullable=False, index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RevokedToken(Model):
    """A revoked JWT. The source of truth behind the Redis blocklist."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    token_type: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
