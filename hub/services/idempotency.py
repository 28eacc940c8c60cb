"""Idempotency keys for create endpoints: the first answer, replayed.

A key is scoped to the tenant. The first request with a key records an
in-progress row (the primary key makes a concurrent twin fail fast with 409);
its answer is stored when it succeeds and replayed for the same key and the
same request for `IDEMPOTENCY_TTL_HOURS`. The same key with another request
is 409. A failed first request releases the key, so the client can retry.

If the database itself failed the request, the release cannot be written
either; this process remembers the key and treats its reservation as abandoned
when the client retries, instead of answering "still in progress" (409) for
minutes after the database is back.
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

from hub.errors import Conflict
from hub.extensions import db
from hub.models import IdempotencyRecord, utcnow

# An in-progress record older than this belongs to a request that died.
ABANDONED_AFTER = timedelta(minutes=2)
# Reservations of requests that died in this process while the database was away.
_UNRELEASED_MAX = 10_000
_unreleased: dict[tuple[uuid.UUID, str], None] = {}
_unreleased_lock = threading.Lock()
log = logging.getLogger(__name__)


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests 'the same': method, path and the JSON body's content."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    except (ValueError, UnicodeDecodeError):
        canonical = body.decode("latin-1")
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def begin(tenant_id: uuid.UUID, key: str, fp: str) -> IdempotencyRecord | None:
    """The stored record to replay, or None after reserving the key for this request."""
    now = utcnow()
    record = db.session.get(IdempotencyRecord, (tenant_id, key))
    if record is not None and (record.expires_at <= now or (
            record.status_code is None and (record.created_at < now - ABANDONED_AFTER
                                            or _was_unreleased(tenant_id, key)))):
        db.session.delete(record)
        db.session.commit()
        _forget_unreleased(tenant_id, key)
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
    record = db.session.get(IdempotencyRecord, (tenant_id, key))
    if record is not None:
        record.status_code, record.response = status_code, body
        db.session.commit()


def release(tenant_id: uuid.UUID, key: str) -> None:
    """Free the key of a request that failed; never raises (the request's own error matters)."""
    try:
        db.session.rollback()
        record = db.session.get(IdempotencyRecord, (tenant_id, key))
        if record is not None and record.status_code is None:
            db.session.delete(record)
            db.session.commit()
    except SQLAlchemyError as exc:
        log.warning("could not release an Idempotency-Key (%s); freed on the next retry",
                    type(exc).__name__)
        try:
            db.session.rollback()
        except SQLAlchemyError:
            pass
        with _unreleased_lock:
            if len(_unreleased) >= _UNRELEASED_MAX:
                _unreleased.pop(next(iter(_unreleased)))
            _unreleased[(tenant_id, key)] = None


def _was_unreleased(tenant_id: uuid.UUID, key: str) -> bool:
    with _unreleased_lock:
        return (tenant_id, key) in _unreleased


def _forget_unreleased(tenant_id: uuid.UUID, key: str) -> None:
    with _unreleased_lock:
        _unreleased.pop((tenant_id, key), None)


def purge_expired() -> int:
    n = IdempotencyRecord.query.filter(IdempotencyRecord.expires_at < utcnow()).delete()
    db.session.commit()
    return n
