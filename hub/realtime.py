"""Socket.IO: authenticated connects, rooms, and emit helpers.

The web process serves sockets; workers only emit, through the Redis message
queue, so an event reaches the right browser whichever API process holds it.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Flask, request
from flask_jwt_extended import decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from flask_socketio import ConnectionRefusedError, join_room
from jwt import InvalidTokenError

from hub.extensions import db, socketio
from hub.models import User
from hub.services import tokens

log = logging.getLogger(__name__)


def user_room(user_id: Any) -> str:
    return f"user:{user_id}"


def tenant_room(tenant_id: Any) -> str:
    return f"tenant:{tenant_id}"


def job_room(job_id: Any) -> str:
    return f"job:{job_id}"


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


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _on_connect(auth: Any = None) -> bool:
    user = authenticate_socket(auth)
    join_room(user_room(user.id))
    join_room(tenant_room(user.tenant_id))
    log.info("socket %s connected for user %s", request.sid, user.id)
    db.session.remove()
    return True


def register_sockets(app: Flask) -> None:
    """Bind Socket.IO (threading mode, Redis message queue) and its handlers."""
    socketio.init_app(
        app,
        async_mode="threading",
        message_queue=app.config["REDIS_URL"],
        cors_allowed_origins=app.config.get("SOCKETIO_CORS_ORIGINS") or [],
        logger=False,
        engineio_logger=False,
    )
    socketio.on_event("connect", _on_connect)
