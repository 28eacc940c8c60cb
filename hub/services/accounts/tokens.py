"""JWT issue, refresh rotation with reuse detection, and revocation.

The database is the source of truth for revocations (`revoked_tokens`,
`token_families.revoked_at`). Redis holds a blocklist with TTLs so the check on
every request is one round trip. The blocklist is rebuilt from the database
whenever its marker key is missing (Redis restarted or lost data) and at least
every `BLOCKLIST_RESYNC_SECONDS`; while Redis is unreachable every check goes
to the database, so a revoked token stays revoked either way.
"""
from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from hub import realtime
from hub.extensions import db, redis_client
from hub.models import RefreshToken, RevokedToken, TokenFamily, User, utcnow
from hub.web.errors import Unauthorized

log = logging.getLogger(__name__)

BLOCKLIST_PREFIX = "hub:revoked:"
BLOCKLIST_MARKER = BLOCKLIST_PREFIX + "loaded"
BLOCKLIST_RESYNC_SECONDS = 60
_PENDING = "hub.blocklist_pending"
# Set when this process failed to write a revocation to Redis; the next
# successful Redis call drops the marker so every process resyncs.
_blocklist_stale = False


def _jti_key(jti: str) -> str:
    return f"{BLOCKLIST_PREFIX}jti:{jti}"


def _family_key(family_id: str) -> str:
    return f"{BLOCKLIST_PREFIX}fam:{family_id}"


def _exp(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def issue_tokens(user: User, family: TokenFamily | None = None) -> dict[str, Any]:
    """A new access + refresh pair; a new token family unless one is given.

    Adds rows to the session; the caller commits.
    """
    if family is None:
        family = TokenFamily(id=uuid.uuid4(), user_id=user.id)
        db.session.add(family)
        db.session.flush()  # the refresh-token row below references it
    claims = {"tid": str(user.tenant_id), "fam": str(family.id)}
    access = create_access_token(identity=str(user.id), additional_claims=claims)
    refresh = create_refresh_token(identity=str(user.id), additional_claims=claims)
    decoded = decode_token(refresh)
    db.session.add(RefreshToken(jti=decoded["jti"], family_id=family.id,
                                expires_at=_exp(decoded["exp"])))
    expires_in = int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds())
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
            "expires_in": expires_in}


def rotate_refresh_token(payload: dict[str, Any], user: User) -> dict[str, Any]:
    """Spend a refresh token and issue the next pair of its family.

    A refresh token that was already spent is a replay: the whole family is
    revoked and the caller gets 401.
    """
    row = db.session.execute(
        select(RefreshToken).where(RefreshToken.jti == payload["jti"]).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise Unauthorized("Unknown refresh token.")
    family = db.session.get(TokenFamily, row.family_id)
    if family is None or family.revoked_at is not None:
        raise Unauthorized("This session has been revoked; log in again.")
    if row.spent_at is not None:
        revoke_family(family, reason="refresh_reuse")
        db.session.commit()
        log.warning("refresh token reuse detected; family %s revoked", family.id)
        raise Unauthorized("Refresh token already used; this session has been revoked.")
    row.spent_at = utcnow()
    tokens = issue_tokens(user, family)
    db.session.commit()
    return tokens


def revoke_family(family: TokenFamily, reason: str) -> None:
    family.revoked_at = utcnow()
    family.revoked_reason = reason
    realtime.end_sockets_of_family(family.id, reason)
    ttl = current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    _blocklist_set(_family_key(str(family.id)), int(ttl.total_seconds()))


def end_sessions(user_id: uuid.UUID, reason: str, keep_family: uuid.UUID | None = None) -> int:
    """Revoke every live login (token family) of the user except `keep_family`; returns how many.

    Every access and refresh token carries its family (`fam`), so this ends all tokens
    issued to the user before it, at once, on every process. Caller commits. (Sockets
    are closed by the real-time side's own hook.)
    """
    now = utcnow()
    live = (select(TokenFamily).where(
        TokenFamily.user_id == user_id, TokenFamily.revoked_at.is_(None),
        select(RefreshToken.jti).where(RefreshToken.family_id == TokenFamily.id,
                                       RefreshToken.expires_at > now).exists()))
    if keep_family is not None:
        live = live.where(TokenFamily.id != keep_family)
    families = db.session.scalars(live).all()
    for family in families:
        revoke_family(family, reason=reason)
    return len(families)


def family_of(payload: dict[str, Any]) -> uuid.UUID | None:
    """The login (token family) a decoded token belongs to."""
    try:
        return uuid.UUID(payload["fam"])
    except (KeyError, TypeError, ValueError):
        return None


def revoke_session(payload: dict[str, Any]) -> None:
    """Revoke the login (token family) a token belongs to. Caller commits."""
    family_id = payload.get("fam")
    family = db.session.get(TokenFamily, uuid.UUID(family_id)) if family_id else None
    if family is not None and family.revoked_at is None:
        revoke_family(family, reason="logout")


def revoke_token(payload: dict[str, Any]) -> None:
    """Revoke one decoded token (durably first, then in Redis). Caller commits."""
    jti = payload["jti"]
    if db.session.get(RevokedToken, jti) is None:
        db.session.add(RevokedToken(jti=jti, token_type=payload.get("type", "access"),
                                    user_id=uuid.UUID(payload["sub"]),
                                    expires_at=_exp(payload["exp"])))
    ttl = int(payload["exp"] - utcnow().timestamp()) + 1
    if ttl > 0:
        _blocklist_set(_jti_key(jti), ttl)
    realtime.end_sockets_of_token(payload, "token_revoked")


def _blocklist_set(key: str, ttl: int) -> None:
    """Queue a blocklist entry; it reaches Redis only if the transaction commits."""
    db.session.info.setdefault(_PENDING, []).append((key, max(ttl, 1)))


@event.listens_for(Session, "after_commit")
def _push_pending_blocklist(session: Session) -> None:
    global _blocklist_stale
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    try:
        pipe = redis_client().pipeline(transaction=False)
        for key, ttl in pending:
            pipe.set(key, "1", ex=ttl)
        pipe.execute()
    except redis.RedisError as exc:
        _blocklist_stale = True
        log.warning("blocklist write to Redis failed (%s); the database still has it", exc)


@event.listens_for(Session, "after_rollback")
def _drop_pending_blocklist(session: Session) -> None:
    session.info.pop(_PENDING, None)


def is_token_revoked(payload: dict[str, Any]) -> bool:
    """True if the token or its family was revoked. Fails safe to the database."""
    global _blocklist_stale
    jti, family = payload["jti"], payload.get("fam")
    try:
        client = redis_client()
        if _blocklist_stale:
            client.delete(BLOCKLIST_MARKER)
            _blocklist_stale = False
        pipe = client.pipeline(transaction=False)
        pipe.exists(BLOCKLIST_MARKER)
        pipe.exists(_jti_key(jti))
        pipe.exists(_family_key(family) if family else _jti_key(jti))
        loaded, jti_hit, family_hit = pipe.execute()
        if loaded:
            return bool(jti_hit or family_hit)
        _warm_blocklist(client)
    except redis.RedisError as exc:
        log.warning("blocklist check fell back to the database: %s", exc)
    return _revoked_in_database(jti, family)


def _revoked_in_database(jti: str, family: str | None) -> bool:
    if db.session.get(RevokedToken, jti) is not None:
        return True
    if family:
        fam = db.session.get(TokenFamily, uuid.UUID(family))
        return fam is None or fam.revoked_at is not None
    return False


def _warm_blocklist(client: redis.Redis) -> None:
    """Copy every live revocation from the database into Redis."""
    now = utcnow()
    refresh_ttl = current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    pipe = client.pipeline(transaction=False)
    for jti, expires_at in db.session.execute(
            select(RevokedToken.jti, RevokedToken.expires_at)
            .where(RevokedToken.expires_at > now)):
        pipe.set(_jti_key(jti), "1", ex=max(1, int((expires_at - now).total_seconds()) + 1))
    for fam_id, revoked_at in db.session.execute(
            select(TokenFamily.id, TokenFamily.revoked_at)
            .where(TokenFamily.revoked_at > now - refresh_ttl)):
        left = revoked_at + refresh_ttl - now
        pipe.set(_family_key(str(fam_id)), "1", ex=max(1, int(left.total_seconds())))
    pipe.set(BLOCKLIST_MARKER, "1", ex=BLOCKLIST_RESYNC_SECONDS)
    pipe.execute()


def purge_expired_revocations(older_than: timedelta = timedelta(0)) -> int:
    """Delete revocations and refresh rows of tokens that expired anyway."""
    cutoff = utcnow() - older_than
    n = RevokedToken.query.filter(RevokedToken.expires_at < cutoff).delete()
    n += RefreshToken.query.filter(RefreshToken.expires_at < cutoff).delete()
    db.session.commit()
    return n
