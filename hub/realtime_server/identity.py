"""Who is behind a socket, and whether they still may be: the database and token checks.

These functions are synchronous (SQLAlchemy, the Redis blocklist) and run in
the real-time server's small thread pool inside the Flask app context, never on
its event loop. They apply the same rules as the HTTP API: an access token that
is valid, not revoked (token or its login family), of an active user in an
active tenant.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask_jwt_extended import decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import InvalidTokenError
from sqlalchemy import select

from hub.extensions import db
from hub.jobs.schema import dump_job
from hub.models import Job, Tenant, User
from hub.services.accounts import tokens


class Refused(Exception):
    """The socket may not connect (or stay): the message tells the client why."""


@dataclass(frozen=True)
class Identity:
    """What a socket authenticated as; `exp` is the access token's expiry (epoch seconds)."""

    user_id: str
    tenant_id: str
    is_staff: bool
    jti: str
    family: str | None
    exp: float


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def authenticate(token: Any) -> Identity:
    """The identity behind an access JWT, or `Refused` with the reason."""
    if not isinstance(token, str) or not token:
        raise Refused("unauthorized: send auth: {token: <access JWT>}")
    try:
        payload = decode_token(token)
    except (InvalidTokenError, JWTExtendedException):
        raise Refused("unauthorized: invalid or expired token") from None
    if payload.get("type") != "access":
        raise Refused("unauthorized: send an access token, not a refresh token")
    try:
        if tokens.is_token_revoked(payload):
            raise Refused("unauthorized: this token has been revoked; log in again")
        user = db.session.get(User, _uuid(payload.get("sub")))
        if user is None or not user.is_active or not user.tenant.is_active:
            raise Refused("unauthorized: account not active")
        return Identity(user_id=str(user.id), tenant_id=str(user.tenant_id),
                        is_staff=bool(user.is_staff), jti=str(payload["jti"]),
                        family=payload.get("fam"), exp=float(payload["exp"]))
    finally:
        db.session.remove()


def recheck(identities: dict[str, Identity]) -> dict[str, bool | None]:
    """Whether each socket may stay: None to end it, else the user's current staff flag.

    One query for all the users involved; each token against the blocklist.
    """
    user_ids = {_uuid(i.user_id) for i in identities.values()}
    try:
        rows = db.session.execute(
            select(User.id, User.is_active, User.is_staff, Tenant.is_active)
            .join(Tenant, Tenant.id == User.tenant_id)
            .where(User.id.in_([u for u in user_ids if u is not None]))).all()
        users = {str(uid): (active and tenant_active, staff)
                 for uid, active, staff, tenant_active in rows}
        verdict: dict[str, bool | None] = {}
        for sid, ident in identities.items():
            active, staff = users.get(ident.user_id, (False, False))
            revoked = tokens.is_token_revoked({"jti": ident.jti, "fam": ident.family})
            verdict[sid] = bool(staff) if active and not revoked else None
        return verdict
    finally:
        db.session.remove()


def visible_job(ident: Identity, job_id: Any) -> dict[str, Any]:
    """The `job.updated` body of a job the user may watch, or `Refused` (not found)."""
    job_uuid = _uuid(job_id) if isinstance(job_id, str) else None
    if job_uuid is None:
        raise ValueError("send {job_id: <job id>}")
    try:
        job = db.session.get(Job, job_uuid)
        if job is None or (str(job.tenant_id) != ident.tenant_id and not ident.is_staff):
            raise Refused("Job not found.")
        return dump_job(job)
    finally:
        db.session.remove()
