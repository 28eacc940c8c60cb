"""Socket.IO rooms and emit helpers (the server's handlers are in hub/api/sockets.py).

Every process (API and workers) emits through
a write-only client of the Redis message queue, so an event reaches the right
browser whichever API process holds its socket.

Rooms: `user:<id>` and `tenant:<id>` on connect, `staff` for hub operators,
`job:<id>` on `subscribe`. `job.updated` goes to the job's tenant, the job's
room and staff.
"""
from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

import socketio as sio_lib
from flask import current_app

from hub.job_schema import dump_job
from hub.models import Job

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


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def job_update_payload(job: Job) -> dict[str, Any]:
    """The `job.updated` event body: the job exactly as `GET /jobs/{id}` answers it now,
    with its `version` (docs/API.md, "Real-time"). `job` may be a row read by attribute."""
    return dump_job(job)


def _emitter() -> sio_lib.RedisManager:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    emitter = app.extensions.get("hub.socket_emitter")
    if emitter is None:
        emitter = sio_lib.RedisManager(app.config["REDIS_URL"], write_only=True,
                                       channel="flask-socketio")
        app.extensions["hub.socket_emitter"] = emitter
    return emitter


def emit(event: str, data: Any, rooms: list[str]) -> None:
    """Publish an event to rooms through Redis; a Redis outage only loses the event."""
    try:
        _emitter().emit(event, data, namespace="/", room=rooms)
    except Exception as exc:  # noqa: BLE001 - live updates are best effort; the ledger has it all
        log.warning("could not emit %s: %s", event, exc)


def job_rooms(job: Job) -> list[str]:
    """Who hears about a job: its tenant, its own room, and staff."""
    return [tenant_room(job.tenant_id), job_room(job.id), STAFF_ROOM]


def emit_job_update(job: Job) -> None:
    emit(JOB_UPDATED, job_update_payload(job), job_rooms(job))


def notify_tenant(tenant_id: Any, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
    emit(NOTIFICATION, {"kind": kind, "message": message, "data": data or {}},
         [tenant_room(tenant_id)])
