"""Socket.IO rooms and emit helpers (the server is hub/realtime_server, its own process).

Every process (API and workers) emits through a write-only client of the
Redis message queue, so an event reaches the right browser whichever real-time
process holds its socket.

Rooms: `user:<id>` and `tenant:<id>` on connect, `staff` for hub operators,
`job:<id>` on `subscribe`. `job.updated` goes to the job's tenant, the job's
room and staff.
"""
from __future__ import annotations

import json
import logging
import threading
from typing import Any

import socketio as sio_lib
from flask import current_app
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from hub.extensions import db, redis_client
from hub.models import Job, Tenant, User

log = logging.getLogger(__name__)

STAFF_ROOM = "staff"
JOB_UPDATED = "job.updated"
NOTIFICATION = "notification"


def user_room(user_id: Any) -> str:
    return f"user:{user_id}"


def tenant_room(tenant_id: Any) -> str:
    return f"tenant:{tenant_id}"


def job_room(job_id: Any) -> str:
    return f"job:{job_id}"


class _Emitter(sio_lib.RedisManager):
    """The write-only Redis manager, able to gather many events into one pipeline."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gathering = threading.local()

    def _publish(self, data: Any) -> Any:
        gathered = getattr(self._gathering, "messages", None)
        if gathered is None:
            return super()._publish(data)
        gathered.append(self.json.dumps(data))
        return None

    def emit_many(self, events: list[tuple[str, Any, list[str]]]) -> None:
        self._gathering.messages = gathered = []
        try:
            for event, data, rooms in events:
                self.emit(event, data, namespace="/", room=rooms)
        finally:
            self._gathering.messages = None
        if not self.connected:
            self._redis_connect()
        pipe = self.redis.pipeline(transaction=False)
        for message in gathered:
            pipe.publish(self.channel, message)
        pipe.execute()


def _emitter() -> _Emitter:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    emitter = app.extensions.get("hub.socket_emitter")
    if emitter is None:
        emitter = _Emitter(app.config["REDIS_URL"], write_only=True, channel="flask-socketio")
        app.extensions["hub.socket_emitter"] = emitter
    return emitter


def emit(event: str, data: Any, rooms: list[str]) -> None:
    """Publish an event to rooms through Redis; a Redis outage only loses the event."""
    try:
        _emitter().emit(event, data, namespace="/", room=rooms)
    except Exception as exc:  # noqa: BLE001 - live updates are best effort; the ledger has it all
        log.warning("could not emit %s: %s", event, exc)


def emit_many(events: list[tuple[str, Any, list[str]]]) -> None:
    """Publish several `(event, data, rooms)` in one Redis round trip; best effort like `emit`."""
    if len(events) == 1:
        emit(*events[0])
        return
    if not events:
        return
    try:
        _emitter().emit_many(events)
    except Exception as exc:  # noqa: BLE001 - live updates are best effort; the ledger has it all
        log.warning("could not emit %d events: %s", len(events), exc)


def job_rooms(job: Job) -> list[str]:
    """Who hears about a job: its tenant, its own room, and staff."""
    return [tenant_room(job.tenant_id), job_room(job.id), STAFF_ROOM]


def notify_tenant(tenant_id: Any, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
    emit(NOTIFICATION, {"kind": kind, "message": message, "data": data or {}},
         [tenant_room(tenant_id)])


# --- Ending sockets with the rights they were opened with -----------------
#
# The real-time processes (hub/realtime_server) listen on CONTROL_CHANNEL. A
# revoked token or login family ends the sockets opened with it at once; a
# change to a user or tenant (deactivation, deletion, role, staff flag, password)
# makes every socket of theirs be checked again, as a new connection would be.
# Messages are queued on the database session and sent only once it commits, so
# a rolled-back change ends nothing; a message lost while Redis is down is made
# up for by the servers' periodic re-check (REALTIME_RECHECK_SECONDS).

CONTROL_CHANNEL = "hub:realtime:control"
_PENDING_CONTROL = "hub.realtime_control"
# Changes to these columns can take rights away from a signed-in user.
_USER_RIGHTS = ("is_active", "role", "is_staff", "password_hash", "tenant_id")


def _queue_control(session: Session, message: dict[str, Any]) -> None:
    session.info.setdefault(_PENDING_CONTROL, []).append(message)


def end_sockets_of_token(payload: dict[str, Any], reason: str) -> None:
    """After the commit, close the sockets authenticated with this access token."""
    if payload.get("type", "access") == "access" and payload.get("jti"):
        _queue_control(db.session, {"op": "revoke", "jti": str(payload["jti"]), "reason": reason})


def end_sockets_of_family(family_id: Any, reason: str) -> None:
    """After the commit, close the sockets of one login (token family)."""
    _queue_control(db.session, {"op": "revoke", "family": str(family_id), "reason": reason})


def _rights_change(user: User) -> str | None:
    """What changed about a user's rights, as the reason a socket is told; None if nothing."""
    state = inspect(user)
    changed = {name for name in _USER_RIGHTS if state.attrs[name].history.has_changes()}
    if "is_active" in changed and not user.is_active:
        return "deactivated"
    if "password_hash" in changed:
        return "password_changed"
    return "rights_changed" if changed else None


@event.listens_for(Session, "before_flush")
def _watch_rights(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, User):
            reason = "user_deleted" if obj in session.deleted else _rights_change(obj)
            if reason is not None:
                _queue_control(session, {"op": "recheck", "user_id": str(obj.id), "reason": reason})
        elif isinstance(obj, Tenant):
            state = inspect(obj)
            if obj in session.deleted or state.attrs["is_active"].history.has_changes():
                _queue_control(session, {"op": "recheck", "tenant_id": str(obj.id),
                                         "reason": "tenant_changed"})


@event.listens_for(Session, "after_commit")
def _publish_control(session: Session) -> None:
    messages = session.info.pop(_PENDING_CONTROL, None)
    if not messages:
        return
    # Revocations first: they carry the precise reason (logout, password_reset, ...), and a
    # socket they close is gone before the re-check of its user (which would close it too).
    messages.sort(key=lambda m: m["op"] != "revoke")
    try:
        pipe = redis_client().pipeline(transaction=False)
        for message in messages:
            pipe.publish(CONTROL_CHANNEL, json.dumps(message))
        pipe.execute()
    except Exception as exc:  # noqa: BLE001 - the periodic re-check still ends them
        log.warning("could not tell the real-time servers to end sockets: %s", exc)


@event.listens_for(Session, "after_rollback")
def _drop_control(session: Session) -> None:
    session.info.pop(_PENDING_CONTROL, None)
