"""Who holds an access token, without a database read on every request.

The hot endpoints (queueing jobs) need only the user's id, tenant, role and
staff flag, and that the user and the tenant are active. Those are kept in
Redis, one key per user and one per tenant, for a short while (`TTL`). Every
commit that changes a user's or tenant's rights (the columns
`hub.realtime` watches for ending sockets: activity, role, staff, password,
tenant; deletions) marks their keys stale at once, so the next request reads
the database again: rights end as promptly as they do for sockets.

A stale mark outlives any request still holding the old values: a request
that read the database before the change cannot store what it read after the
mark (SET NX), which would bring the old rights back. When Redis cannot take a
mark, this process remembers it and retries first thing on its next use, and
every entry expires after `TTL` regardless.
"""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from hub.extensions import redis_client
from hub.models import Tenant, User

log = logging.getLogger(__name__)

TTL = 10
STALE_TTL = 15  # longer than any request that read the database before the change
_STALE = b"stale"
# Changes to these columns can take rights away (hub.realtime watches the same ones).
USER_RIGHTS = ("is_active", "role", "is_staff", "password_hash", "tenant_id")
_PENDING = "hub.principal_cache_stale"
_unsent: set[str] = set()  # stale marks Redis refused; sent again on next use
_unsent_lock = threading.Lock()


@dataclass(frozen=True)
class CachedUser:
    """The part of a user the hot endpoints read (like `User` for those attributes)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    role: str
    is_staff: bool
    is_active: bool = True


def _user_key(user_id: Any) -> str:
    return f"hub:principal:user:{user_id}"


def _tenant_key(tenant_id: Any) -> str:
    return f"hub:principal:tenant:{tenant_id}"


def _resend_unsent(client) -> None:
    with _unsent_lock:
        keys = list(_unsent)
    if keys:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.set(key, _STALE, ex=TTL)  # as long as an entry could have lived since
        pipe.execute()
        with _unsent_lock:
            _unsent.difference_update(keys)


def load(user_id: uuid.UUID, tenant_id: str | None) -> CachedUser | None:
    """The cached user if both it and its tenant are known active; None to read the database."""
    if not tenant_id:
        return None
    try:
        client = redis_client()
        _resend_unsent(client)
        user, tenant = client.mget(_user_key(user_id), _tenant_key(tenant_id))
    except Exception as exc:  # noqa: BLE001 - the database answers instead
        log.debug("principal cache unavailable: %s", exc)
        return None
    if not user or not tenant or user == _STALE or tenant != b"active":
        return None
    held_tenant, role, staff = user.decode().split(":")
    if held_tenant != tenant_id:  # a token from before the user moved: the database decides
        return None
    return CachedUser(id=user_id, tenant_id=uuid.UUID(tenant_id), role=role, is_staff=staff == "1")


def store(user: User) -> None:
    """Remember an active user of an active tenant (unless a change marked it stale since)."""
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.set(_user_key(user.id), f"{user.tenant_id}:{user.role}:{int(bool(user.is_staff))}",
                 ex=TTL, nx=True)
        pipe.set(_tenant_key(user.tenant_id), "active", ex=TTL, nx=True)
        pipe.execute()
    except Exception as exc:  # noqa: BLE001 - only the next request's shortcut is lost
        log.debug("principal cache not stored: %s", exc)


@event.listens_for(Session, "before_flush")
def _watch(session: Session, _context: Any, _instances: Any) -> None:
    keys = session.info.setdefault(_PENDING, set())
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, User):
            state = inspect(obj)
            if obj in session.deleted or any(state.attrs[name].history.has_changes()
                                             for name in USER_RIGHTS):
                keys.add(_user_key(obj.id))
        elif isinstance(obj, Tenant):
            keys.add(_tenant_key(obj.id))  # any change: activity, tier, deletion


@event.listens_for(Session, "after_commit")
def _mark_stale(session: Session) -> None:
    keys = session.info.pop(_PENDING, None)
    if not keys:
        return
    try:
        pipe = redis_client().pipeline(transaction=False)
        for key in keys:
            pipe.set(key, _STALE, ex=STALE_TTL)
        pipe.execute()
    except Exception as exc:  # noqa: BLE001 - kept, and sent before this process's next read
        log.warning("could not mark %d cached principals stale (%s); retrying on next use",
                    len(keys), exc)
        with _unsent_lock:
            _unsent.update(keys)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(_PENDING, None)
