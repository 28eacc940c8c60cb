"""Idempotency keys for create endpoints: the first answer, replayed.

A key is scoped to the tenant. The first request with a key records an
in-progress row (the primary key makes a concurrent twin fail fast with 409);
its answer is stored when it succeeds and replayed for the same key and the
same request for `IDEMPOTENCY_TTL_HOURS`. The same key with another request
is 409. A failed first request releases the key, so the client can retry.

When the database goes away mid-request, the release (the request failed) or
the stored answer (it succeeded, then the database went) cannot be written
either. This process remembers which, and settles the reservation when the
client retries: a failed request's key is free again, a succeeded one's answer
is stored and replayed (the job is not created twice). Without that, retries
got 409 "still in progress" for minutes after the database was back. A retry
that reaches another process waits for ABANDONED_AFTER as before.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from hub.extensions import db
from hub.models import IdempotencyRecord, utcnow
from hub.web import jsonio
from hub.web.errors import Conflict

# An in-progress record older than this belongs to a request that died.
ABANDONED_AFTER = timedelta(minutes=2)
# Reservations this process could not settle while the database was away:
# None = the request failed (free the key), (status, body) = its answer to store.
_ORPHANS_MAX = 10_000
_orphans: dict[tuple[uuid.UUID, str], tuple[int, Any] | None] = {}
_orphans_lock = threading.Lock()
log = logging.getLogger(__name__)


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests 'the same': method, path and the JSON body's content.

    The body is read as every request body is (hub.web.jsonio): too deep or NaN is the
    client's 400/422 here too, before the view's own parsing.
    """
    try:
        canonical = json.dumps(jsonio.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    except (ValueError, UnicodeDecodeError):
        canonical = body.decode("latin-1")
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def begin(tenant_id: uuid.UUID, key: str, fp: str) -> IdempotencyRecord | None:
    """The stored record to replay, or None after reserving the key for this request."""
    now = utcnow()
    record = db.session.get(IdempotencyRecord, (tenant_id, key))
    orphan = _orphan(tenant_id, key) if record is not None and record.status_code is None else None
    if orphan is not None and orphan[1] is not None and record.fingerprint == fp:
        record.status_code, record.response = orphan[1]  # it had succeeded: store, then replay
        db.session.commit()
        _forget_orphan(tenant_id, key)
    elif record is not None and (record.expires_at <= now or orphan is not None or (
            record.status_code is None and record.created_at < now - ABANDONED_AFTER)):
        db.session.delete(record)
        db.session.commit()
        _forget_orphan(tenant_id, key)
        record = None
    if record is not None:
        if record.fingerprint != fp:
            raise Conflict("This Idempotency-Key was used with a different request.",
                           details={"idempotency_key": key})
        if record.status_code is None:
            raise Conflict("A request with this Idempotency-Key is still in progress.",
                           details={"idempotency_key": key})
        return record
    ttl = timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])
    db.session.add(IdempotencyRecord(tenant_id=tenant_id, key=key, fingerprint=fp,
                                     created_at=now, expires_at=now + ttl))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("A request with this Idempotency-Key is still in progress.",
                       details={"idempotency_key": key}) from None
    return None


def complete(tenant_id: uuid.UUID, key: str, status_code: int, body: Any) -> None:
    """Store the answer to replay; never raises (the work is done, the answer is true)."""
    try:
        record = db.session.get(IdempotencyRecord, (tenant_id, key))
        if record is not None:
            record.status_code, record.response = status_code, body
            db.session.commit()
    except SQLAlchemyError as exc:
        _remember_orphan(tenant_id, key, (status_code, body), exc)


def release(tenant_id: uuid.UUID, key: str) -> None:
    """Free the key of a request that failed; never raises (the request's own error matters)."""
    try:
        db.session.rollback()
        record = db.session.get(IdempotencyRecord, (tenant_id, key))
        if record is not None and record.status_code is None:
            db.session.delete(record)
            db.session.commit()
    except SQLAlchemyError as exc:
        _remember_orphan(tenant_id, key, None, exc)


def _remember_orphan(tenant_id: uuid.UUID, key: str, answer: tuple[int, Any] | None,
                     exc: Exception) -> None:
    log.warning("could not %s an Idempotency-Key (%s); settled on the next retry",
                "release" if answer is None else "store the answer of", type(exc).__name__)
    try:
        db.session.rollback()
    except SQLAlchemyError:
        pass
    with _orphans_lock:
        if len(_orphans) >= _ORPHANS_MAX:
            _orphans.pop(next(iter(_orphans)))
        _orphans[(tenant_id, key)] = answer


def _orphan(tenant_id: uuid.UUID, key: str) -> tuple[bool, tuple[int, Any] | None] | None:
    """(True, answer or None) if this process left the key unsettled, else None."""
    with _orphans_lock:
        if (tenant_id, key) not in _orphans:
            return None
        return True, _orphans[(tenant_id, key)]


def _forget_orphan(tenant_id: uuid.UUID, key: str) -> None:
    with _orphans_lock:
        _orphans.pop((tenant_id, key), None)


def purge_expired() -> int:
    n = IdempotencyRecord.query.filter(IdempotencyRecord.expires_at < utcnow()).delete()
    db.session.commit()
    return n
