"""The Socket.IO server's handlers: authenticated connect, subscribe, unsubscribe."""
from __future__ import annotations

import uuid
from typing import Any

from flask import Flask, request
from flask_jwt_extended import decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from flask_socketio import ConnectionRefusedError, join_room, leave_room
from jwt import InvalidTokenError

from hub.extensions import db, socketio
from hub.models import Job, User
from hub.realtime import STAFF_ROOM, job_room, job_update_payload, tenant_room, user_room
from hub.services import tokens


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def authenticate_socket(auth: Any) -> User:
    """The user behind a connect's `auth: {token}`, or ConnectionRefusedError."""
    token = auth.get("token") if isinstance(auth, dict) else None
    if not isinstance(token, str) or not token:
        raise ConnectionRefusedError("unauthorized: send auth: {token: <access JWT>}")
    try:
        payload = decode_token(token)
    except (InvalidTokenError, JWTExtendedException):
        raise ConnectionRefusedError("unauthorized: invalid or expired token") from None
    if payload.get("type") != "access" or tokens.is_token_revoked(payload):
        raise ConnectionRefusedError("unauthorized: token not usable")
    user = db.session.get(User, _uuid(payload.get("sub")))
    if user is None or not user.is_active or not user.tenant.is_active:
        raise ConnectionRefusedError("unauthorized: account not active")
    return user


def _session_user() -> User | None:
    with socketio.server.session(request.sid, namespace="/") as session:
        user_id = session.get("user_id")
    return db.session.get(User, user_id) if user_id else None


def _on_connect(auth: Any = None) -> bool:
    try:
        user = authenticate_socket(auth)
        with socketio.server.session(request.sid, namespace="/") as session:
            session["user_id"] = user.id
        join_room(user_room(user.id))
        join_room(tenant_room(user.tenant_id))
        if user.is_staff:
            join_room(STAFF_ROOM)
        return True
    finally:
        db.session.remove()


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


def _on_subscribe(data: Any = None) -> dict[str, Any]:
    """Join `job:<id>` if the user may see the job (same rules as GET /jobs/{id})."""
    try:
        job_id = _uuid(data.get("job_id")) if isinstance(data, dict) else None
        if job_id is None:
            return _error("VALIDATION_ERROR", "send {job_id: <job id>}")
        user = _session_user()
        if user is None or not user.is_active:
            return _error("UNAUTHORIZED", "log in again")
        job = db.session.get(Job, job_id)
        if job is None or (job.tenant_id != user.tenant_id and not user.is_staff):
            return _error("NOT_FOUND", "Job not found.")
        join_room(job_room(job_id))
        return {"ok": True, "job": job_update_payload(job)}
    finally:
        db.session.remove()


def _on_unsubscribe(data: Any = None) -> dict[str, Any]:
    job_id = _uuid(data.get("job_id")) if isinstance(data, dict) else None
    if job_id is None:
        return _error("VALIDATION_ERROR", "send {job_id: <job id>}")
    leave_room(job_room(job_id))
    return {"ok": True}


def register_sockets(app: Flask) -> None:
    """Bind Socket.IO (threading mode, Redis message queue) and its handlers."""
    from hub.security_headers import socket_origin_check

    socketio.init_app(
        app,
        async_mode="threading",
        message_queue=app.config["REDIS_URL"],
        # Not [] (which turns Engine.IO's origin check off): same host or CORS_ORIGINS.
        cors_allowed_origins=socket_origin_check(app),
        transports=[t.strip() for t in app.config["SOCKETIO_TRANSPORTS"].split(",") if t.strip()],
        logger=False,
        engineio_logger=False,
    )
    socketio.on_event("connect", _on_connect)
    socketio.on_event("subscribe", _on_subscribe)
    socketio.on_event("unsubscribe", _on_unsubscribe)
