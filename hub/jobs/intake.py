"""Accepting jobs from callers: one job or a thousand, with the ledger's guarantees.

The same outbox as `jobs.create_job` + `jobs.commit_and_dispatch`, on a shorter path for the
API's hot endpoints: the jobs, their `queued` events and the caller's audit rows
are written by one statement (array parameters, so its text and plan are the
same for one job or a batch), the tenant's slots and the jobs' flow-control
keys are checked next (`hub/jobs/admission.py`), then the commit. Only after
the commit are the broker messages and the `job.updated` events sent, each
kind as one Redis pipeline. A job a limit holds back (saying which in
`waiting_for`), or whose message could not be sent, keeps
`dispatched_at = NULL`; a hand-on or the relay sends it later, as for every job.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from flask import current_app
from sqlalchemy import text

from hub import tracing
from hub.extensions import db
from hub.jobs import admission
from hub.jobs.ledger import (
    Message,
    check_new_job,
    check_priority,
    send_to_broker,
    tenant_lock_key,
    with_queue_key,
)
from hub.jobs.schema import dump_job
from hub.jobs.types import JobType
from hub.models import PRIORITIES, utcnow
from hub.realtime import JOB_UPDATED, emit_many, job_rooms
from hub.web.context import current_request_id
from hub.web.errors import ValidationFailed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewJob:
    """One job a caller asks for, as the API read it."""

    type: str
    payload: Any = field(default_factory=dict)
    run_at: datetime | None = None
    notify: bool = False
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    priority: str = "normal"


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


# Every array is one column; unnest() zips them row by row. The audit arrays may be
# empty (no audit row). The lock is the statement's result, taken after the rows are
# written, as in jobs.commit_and_dispatch().
_WRITE = text("""
WITH new_jobs AS (
    INSERT INTO jobs (id, tenant_id, type, queue, status, progress, message, payload, attempts,
                      max_attempts, next_attempt_at, dispatched_at, request_id, created_by,
                      created_by_api_key, notify, traceparent, version, created_at, updated_at,
                      priority, flow_keys)
    SELECT n.id, CAST(:tenant_id AS uuid), n.type, n.queue, 'queued', 0, 'queued',
           CAST(n.payload AS json), 0, n.max_attempts, n.next_at, n.dispatched_at, :request_id,
           CAST(:created_by AS uuid), CAST(:api_key_id AS uuid), n.notify, :traceparent, 1, :now, :now,
           n.priority, ARRAY(SELECT json_array_elements_text(CAST(n.flow_keys AS json)))
    FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS varchar[]), CAST(:queues AS varchar[]),
                CAST(:payloads AS text[]), CAST(:max_attempts AS integer[]),
                CAST(:next_at AS timestamptz[]), CAST(:dispatched AS timestamptz[]),
                CAST(:notify AS boolean[]), CAST(:priorities AS smallint[]),
                CAST(:flow_keys AS text[]))
         AS n(id, type, queue, payload, max_attempts, next_at, dispatched_at, notify, priority,
              flow_keys)
), new_events AS (
    INSERT INTO job_events (job_id, kind, status, progress, message, attempt, data, request_id,
                            created_at)
    SELECT e.id, 'transition', 'queued', 0, 'queued', 0, CAST(e.data AS json), :request_id, :now
    FROM unnest(CAST(:ids AS uuid[]), CAST(:event_data AS text[])) AS e(id, data)
), new_audit AS (
    INSERT INTO audit_events (id, tenant_id, actor_user_id, actor_api_key_id, action, object_type,
                              object_id, request_id, ip, details, created_at)
    SELECT a.id, CAST(:tenant_id AS uuid), CAST(:created_by AS uuid), CAST(:api_key_id AS uuid),
           a.action, a.object_type, a.object_id, :request_id, :ip, CAST(a.details AS json), :now
    FROM unnest(CAST(:audit_ids AS uuid[]), CAST(:audit_actions AS varchar[]),
                CAST(:audit_types AS varchar[]), CAST(:audit_objects AS varchar[]),
                CAST(:audit_details AS text[]))
         AS a(id, action, object_type, object_id, details)
)
SELECT pg_advisory_xact_lock(:lock_key)
""")

# New jobs a limit holds back (the scheduler said which and why): back to the outbox.
_HOLD = text("""
UPDATE jobs SET dispatched_at = NULL, waiting_for = h.why, message = h.message,
                version = jobs.version + 1
FROM unnest(CAST(:ids AS uuid[]), CAST(:whys AS varchar[]), CAST(:messages AS varchar[]))
     AS h(id, why, message)
WHERE jobs.id = h.id
""")


@dataclass(frozen=True)
class AuditRow:
    """An audit event written with the jobs (hub.services.audit builds these)."""

    action: str
    object_type: str
    object_id: str | None
    details: dict[str, Any]
    ip: str | None = None


def validate(specs: Sequence[NewJob], *, batch: bool = False,
             tenant_id: uuid.UUID | None = None) -> list[JobType]:
    """The job type of each job, or ValidationFailed if any is invalid (see
    `jobs.check_new_job`, and `jobs.check_priority` for `tenant_id`'s plan): a single
    job's errors under `details.fields.json`, a `batch`'s under
    `details.fields.json.jobs.<index>`."""
    checked = [check_new_job(s.type, s.payload, s.run_at) for s in specs]
    if tenant_id is not None:
        checked = [(jtype, errs, message) if errs else (jtype, *check_priority(tenant_id, s.priority))
                   for s, (jtype, errs, message) in zip(specs, checked, strict=True)]
    errors = {i: errs for i, (_, errs, _) in enumerate(checked) if errs}
    if errors and batch:
        raise ValidationFailed(f"{len(errors)} of the {len(specs)} jobs are not valid; none was queued.",
                               details={"fields": {"json": {"jobs": errors}}})
    if errors:
        _, errs, message = checked[0]
        raise ValidationFailed(message, details={"fields": {"json": errs}})
    return [jtype for jtype, _, _ in checked]


def accept(tenant_id: uuid.UUID, specs: Sequence[NewJob], types: Sequence[JobType], *,
           created_by: uuid.UUID | None = None, api_key_id: uuid.UUID | None = None,
           audit: Sequence[AuditRow] = ()) -> list[SimpleNamespace]:
    """Queue valid jobs (`types` from `validate`) and the audit rows, commit, then dispatch
    those due whose tenant has free slots.

    Returns the jobs as written (read by attribute like a Job), in order. The
    session must have nothing else pending: this commits.
    """
    now = utcnow()
    request_id = current_request_id()
    traceparent = tracing.current_traceparent()  # the request's trace: each job's dispatch joins it
    rows = []
    for spec, jtype in zip(specs, types, strict=True):
        later = spec.run_at if spec.run_at is not None and spec.run_at > now else None
        rows.append(SimpleNamespace(
            id=spec.id, tenant_id=tenant_id, type=jtype.name, queue=jtype.queue,
            status="queued", progress=0, message="queued", payload=spec.payload, result=None,
            error=None, attempts=0, max_attempts=jtype.retry.max_attempts, next_attempt_at=later,
            dispatched_at=None if later else now, created_at=now, started_at=None,
            finished_at=None, updated_at=now, request_id=request_id, created_by=created_by,
            notify=spec.notify, version=1, traceparent=traceparent, event_data=_dumps(
                {"run_at": spec.run_at.isoformat()} if spec.run_at else None),
            priority=PRIORITIES.index(spec.priority), waiting_for=None,
            flow_keys=with_queue_key(jtype.flow_keys(spec.payload, tenant_id) if jtype.flow_keys
                                     else [], jtype)))
    session = db.session
    session.execute(_WRITE, {
        "tenant_id": tenant_id, "request_id": request_id, "created_by": created_by,
        "api_key_id": api_key_id, "now": now, "lock_key": tenant_lock_key(tenant_id),
        "traceparent": traceparent,
        "ids": [r.id for r in rows], "types": [r.type for r in rows],
        "queues": [r.queue for r in rows], "payloads": [_dumps(r.payload) for r in rows],
        "max_attempts": [r.max_attempts for r in rows],
        "next_at": [r.next_attempt_at for r in rows], "dispatched": [r.dispatched_at for r in rows],
        "notify": [r.notify for r in rows], "event_data": [r.event_data for r in rows],
        "priorities": [r.priority for r in rows], "flow_keys": [_dumps(r.flow_keys) for r in rows],
        "audit_ids": [uuid.uuid4() for _ in audit], "audit_actions": [a.action for a in audit],
        "audit_types": [a.object_type for a in audit], "audit_objects": [a.object_id for a in audit],
        "audit_details": [_dumps(a.details) for a in audit],
        "ip": audit[0].ip if audit else None})
    reserved = [r for r in rows if r.dispatched_at is not None]
    countdowns = _admit(tenant_id, reserved, now) if reserved else {}
    reserved = [r for r in reserved if r.id in countdowns]
    session.commit()
    emit_many([(JOB_UPDATED, dump_job(r), job_rooms(r)) for r in rows])
    if reserved:
        _send([Message.of(r, countdowns[r.id]) for r in reserved])
    return rows


def _admit(tenant_id: uuid.UUID, reserved: list[SimpleNamespace], now: datetime) -> dict[uuid.UUID, float]:
    """Under the tenant's lock (taken by the write) and its keys' (`scheduler`): which of
    the new jobs holding a reserved slot keep it, highest priority first, and each one's
    countdown. The others go back to the outbox, saying what they wait for."""
    mine = [r.id for r in reserved]
    decision = admission.Admission.start(now)
    decision.load_tenants([tenant_id], exclude=mine)
    decision.load_keys({k for r in reserved for k in r.flow_keys}, exclude=mine, queue_behind=True)
    admitted: dict[uuid.UUID, float] = {}
    held: dict[uuid.UUID, tuple[str, str]] = {}
    for row in sorted(reserved, key=lambda r: -r.priority):  # stable: creation order otherwise
        ok, countdown, why = decision.admit(tenant_id, row.flow_keys)
        if ok:
            admitted[row.id] = countdown
        else:
            held[row.id] = (why, admission.waiting_message(why, decision.tenant_limit.get(tenant_id)))
    decision.save()
    if held:
        db.session.execute(_HOLD, {"ids": list(held), "whys": [w for w, _ in held.values()],
                                   "messages": [m for _, m in held.values()]})
        for row in reserved:
            if row.id in held:
                row.dispatched_at, row.version = None, 2
                row.waiting_for, row.message = held[row.id]
        log.info("%d of %d new jobs wait for a limit", len(held), len(reserved))
    return admitted


def _send(messages: list[Message]) -> None:
    """Send the messages through one pooled producer as one Redis pipeline; if that fails,
    their slots go back to the outbox (the relay re-sends; a job delivered twice runs once)."""
    celery_app = current_app.extensions["celery"]
    try:
        with celery_app.producer_or_acquire() as producer, producer.batch(max_size=len(messages) + 1):
            for message in messages:
                send_to_broker(message, message.countdown, producer=producer)
    except Exception as exc:  # noqa: BLE001 - any broker failure leaves the jobs in the outbox
        log.warning("could not dispatch %d new jobs (%s); the relay will send them", len(messages), exc)
        db.session.rollback()
        db.session.execute(text("UPDATE jobs SET dispatched_at = NULL, version = version + 1 "
                                "WHERE id = ANY(CAST(:ids AS uuid[])) AND status = 'queued'"),
                           {"ids": [m.job_id for m in messages]})
        db.session.commit()
