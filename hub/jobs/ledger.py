"""The job ledger: create, dispatch, relay, cancel, retry.

The `jobs` table is the outbox. A job row is added in the same transaction as
the domain rows that caused it; `commit_and_dispatch()` commits and only then hands new
jobs to Celery (task id = job id). A job that could not be handed over (Redis
down, or its tenant already has its share of jobs in flight) keeps
`dispatched_at = NULL`, and `relay()` — run by beat every few seconds — sends it
later (`hub/jobs/outbox.py`). The worker side of the ledger is in `hub/jobs/runs.py`.
"""
from __future__ import annotations

import logging
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, event, select, text, update
from sqlalchemy.orm import Session

from hub import tracing
from hub.extensions import db
from hub.jobs.schema import dump_job, emit_job_update
from hub.jobs.types import JobType, get_job_type
from hub.models import FINISHED_STATUSES, Job, JobEvent, Tenant, utcnow
from hub.models.base import paginate
from hub.models.job import IN_FLIGHT_SQL
from hub.realtime import JOB_UPDATED, emit, job_rooms
from hub.web.context import current_request_id
from hub.web.errors import Conflict, NotFound, ValidationFailed

log = logging.getLogger(__name__)

RUN_TASK = "hub.jobs.run"
_PENDING = "hub.jobs_pending_dispatch"
MAX_RUN_AT = timedelta(days=366)


# --- creating ---------------------------------------------------------------

def create_job(tenant_id: uuid.UUID, type_name: str, payload: Any, *,
               run_at: datetime | None = None, created_by: uuid.UUID | None = None,
               api_key_id: uuid.UUID | None = None, internal: bool = False,
               notify: bool = False) -> Job:
    """Add a queued job to the session; `commit_and_dispatch()` dispatches it.

    Raises ValidationFailed for an unknown type, a type clients may not create
    (unless `internal`), a payload that does not match the type's schema, or a
    `run_at` more than a year ahead.
    """
    tenant_id = uuid.UUID(str(tenant_id))  # callers may hold it as text (events, JSON)
    jtype, errors, message = check_new_job(type_name, payload, run_at, internal=internal)
    if errors:
        raise ValidationFailed(message, details={"fields": {"json": errors}})
    now = utcnow()
    job = Job(id=uuid.uuid4(), tenant_id=tenant_id, type=jtype.name, queue=jtype.queue,
              status="queued", progress=0, message="queued", payload=payload,
              attempts=0, max_attempts=jtype.retry.max_attempts,
              next_attempt_at=run_at if run_at and run_at > now else None,
              request_id=current_request_id(), created_by=created_by,
              created_by_api_key=api_key_id, notify=notify)
    db.session.add(job)
    _mark_pending(job)
    db.session.flush()
    add_event(job, "transition", "queued", data={"run_at": run_at.isoformat()} if run_at else None)
    return job


def check_new_job(type_name: str, payload: Any, run_at: datetime | None, *,
                  internal: bool = False) -> tuple[JobType | None, dict[str, Any], str]:
    """The job type, and the field errors of a job to create with their summary (none: valid).

    Refused: an unknown type, a type clients may not create (unless `internal`),
    a payload that does not match the type's schema, a `run_at` more than a year ahead.
    """
    jtype = get_job_type(type_name)
    if jtype is None:
        return None, {"type": [f"unknown job type {type_name!r}"]}, \
            f"Unknown job type {type_name!r}; GET /api/v1/jobs/types lists them."
    if not (jtype.creatable or internal):
        through = (f"queue it with {jtype.created_through}" if jtype.created_through
                   else "the hub queues these itself")
        return jtype, {"type": [f"not created through POST /jobs; {through}"]}, \
            f"POST /jobs does not take {type_name!r} jobs: {through}."
    errors = jtype.validate(payload)
    if errors:
        return jtype, {"payload": errors}, "The payload does not match the job type's schema."
    if run_at is not None and run_at > utcnow() + MAX_RUN_AT:
        return jtype, {"run_at": ["at most a year ahead"]}, "run_at is too far ahead."
    return jtype, {}, ""


def _mark_pending(job: Job) -> None:
    """Queue a job for `commit_and_dispatch()`, its broker slot reserved up front if it is due now.

    Reserving in the row as it is written saves an UPDATE inside the tenant's
    lock; `commit_and_dispatch()` confirms the slot under that lock and releases it if the
    tenant has none free. A transaction committed without `commit_and_dispatch()` releases
    it too (`_release_unconfirmed`), so the relay still sends those jobs.
    """
    if job.status in ("queued", "retrying") and (job.next_attempt_at is None
                                                 or job.next_attempt_at <= utcnow()):
        job.dispatched_at = utcnow()
    db.session.info.setdefault(_PENDING, []).append(job.id)


def job_event_data(job: Job) -> dict[str, Any]:
    """The body of `job.succeeded` / `job.failed` domain events."""
    return {"id": str(job.id), "type": job.type, "status": job.status, "result": job.result,
            "error": job.error, "attempts": job.attempts, "request_id": job.request_id,
            "created_by": str(job.created_by) if job.created_by else None, "notify": job.notify}


def add_event(job: Job, kind: str, message: str | None = None,
              data: dict[str, Any] | None = None) -> JobEvent:
    event = JobEvent(job_id=job.id, kind=kind, status=job.status, progress=job.progress,
                     message=message if message is not None else job.message,
                     attempt=job.attempts, data=data,
                     request_id=current_request_id() or job.request_id, created_at=utcnow())
    db.session.add(event)
    return event


def commit_and_dispatch(*, expire: bool = True) -> None:
    """Commit the session, then hand the jobs created in it to the broker.

    Each new job's broker slot is reserved (`dispatched_at`) inside the same
    transaction, so sending after the commit needs no second one. A job whose
    tenant has no free slot, or whose send fails, stays in the outbox for the
    relay. `expire=False` keeps the session's objects loaded after the commit
    (they hold exactly what was written), for a caller that only serialises
    them next and need not read them back.
    """
    pending = [db.session.get(Job, job_id) for job_id in db.session.info.pop(_PENDING, [])]
    pending = [job for job in pending if job is not None]
    db.session.flush()  # every row written before any tenant's lock is taken
    updates = [(dump_job(job), job_rooms(job)) for job in pending]
    reserved = [job for job in pending if job.dispatched_at is not None
                and job.status in ("queued", "retrying")]
    released = _confirm_slots(reserved)
    messages = [Message.of(job) for job in reserved if job.id not in released]
    session = db.session()
    keep, session.expire_on_commit = session.expire_on_commit, expire and session.expire_on_commit
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep
    for payload, rooms in updates:
        emit(JOB_UPDATED, payload, rooms)
    for message in messages:
        _send_or_release(message)


def _confirm_slots(reserved: list[Job]) -> set[uuid.UUID]:
    """Check the slots reserved in this transaction against each tenant's limit, under
    the tenant's lock (held to the commit, which follows at once). Jobs over the
    limit give their slot back and wait in the outbox; returns their ids."""
    by_tenant: dict[uuid.UUID, list[Job]] = {}
    for job in reserved:
        by_tenant.setdefault(job.tenant_id, []).append(job)
    released: set[uuid.UUID] = set()
    for tenant_id in sorted(by_tenant):  # one lock order everywhere: no deadlocks
        mine = by_tenant[tenant_id]
        limit = int(tier_limits(tenant_id)["concurrency"])
        _lock_tenant(tenant_id)
        # Our own reservations are in the count (same transaction): at most limit + mine matter.
        excess = _in_flight(tenant_id, cap=limit + len(mine)) - limit
        for job in mine[len(mine) - excess:] if excess > 0 else ():
            log.info("job %s waits for a free slot of its tenant", job.id)
            job.dispatched_at = None
            released.add(job.id)
    return released


@event.listens_for(Session, "before_commit")
def _release_unconfirmed(session: Session) -> None:
    """Jobs added but committed without `commit_and_dispatch()` were never sent: back to the outbox."""
    for job_id in session.info.pop(_PENDING, None) or ():
        job = session.get(Job, job_id)
        if job is not None and job.dispatched_at is not None:
            job.dispatched_at = None


# --- dispatching ------------------------------------------------------------

@dataclass(frozen=True)
class Message:
    """What the broker needs to run a job: plain values, safe after commit."""

    job_id: uuid.UUID
    queue: str
    type: str
    tenant_id: uuid.UUID
    request_id: str | None
    traceparent: str | None = None

    @classmethod
    def of(cls, job: Job) -> Message:
        return cls(job.id, job.queue, job.type, job.tenant_id, job.request_id, job.traceparent)


# tenant id -> (tier, when to read it again). A tier changes with a plan, rarely; a
# few seconds late is harmless, a read of the tenant on every job creation is not.
_TIER_MEMO_SECONDS = 5.0
_tiers: dict[uuid.UUID, tuple[str, float]] = {}


def tier_limits(tenant_id: uuid.UUID) -> dict[str, Any]:
    """The tenant's tier limits: `rate` of job creation and `concurrency` in flight."""
    tiers = current_app.config["JOB_TIER_LIMITS"]
    known = _tiers.get(tenant_id)
    if known is not None and known[1] > time.monotonic():
        tier = known[0]
    else:
        tenant = db.session.get(Tenant, tenant_id)
        tier = tenant.tier if tenant is not None else "standard"
        if len(_tiers) > 10_000:
            _tiers.clear()
        _tiers[tenant_id] = (tier, time.monotonic() + _TIER_MEMO_SECONDS)
    return tiers.get(tier) or tiers.get("standard") or next(iter(tiers.values()))


@event.listens_for(Session, "before_flush")
def _forget_changed_tiers(session: Session, _context: Any, _instances: Any) -> None:
    """A tier changed in this process applies here at once (elsewhere within seconds)."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Tenant):
            _tiers.pop(obj.id, None)


def tenant_lock_key(tenant_id: uuid.UUID) -> int:
    """The advisory lock that serialises a tenant's slot accounting."""
    return zlib.crc32(b"hub-dispatch:" + tenant_id.bytes)


def _lock_tenant(tenant_id: uuid.UUID) -> None:
    """Serialise slot accounting per tenant: a transaction-scoped advisory lock."""
    db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": tenant_lock_key(tenant_id)})


# Built once: the count runs inside the tenant's lock on every dispatch.
_IN_FLIGHT_COUNT = text(
    f"SELECT count(*) FROM (SELECT 1 FROM jobs WHERE tenant_id = :tenant_id AND {IN_FLIGHT_SQL} "
    "LIMIT :cap) AS in_flight").bindparams(bindparam("tenant_id", type_=Job.__table__.c.tenant_id.type))


def _in_flight(tenant_id: uuid.UUID, cap: int | None = None) -> int:
    """The tenant's jobs holding a slot, counted up to `cap` (enough to compare with a limit)."""
    return db.session.scalar(_IN_FLIGHT_COUNT, {"tenant_id": tenant_id,
                                                "cap": cap if cap is not None else 2**31 - 1}) or 0


def _has_slot(tenant_id: uuid.UUID) -> bool:
    _lock_tenant(tenant_id)
    limit = int(tier_limits(tenant_id)["concurrency"])
    return _in_flight(tenant_id, cap=limit) < limit


def dispatch(job: Job, countdown: float | None = None) -> bool:
    """Hand one committed job to the broker if it is due and its tenant has a slot.

    The slot is reserved (`dispatched_at`) and committed before the message is
    sent; if sending fails the reservation is released and the relay retries.
    Returns True if a message was sent.
    """
    now = utcnow()
    if job.status not in ("queued", "retrying") or job.dispatched_at is not None:
        return False
    if countdown is None and job.next_attempt_at is not None and job.next_attempt_at > now:
        return False
    message = Message.of(job)
    reserved = _has_slot(job.tenant_id) and db.session.execute(
        update(Job).where(Job.id == job.id, Job.dispatched_at.is_(None),
                          Job.status.in_(("queued", "retrying")))
        .values(dispatched_at=now)).rowcount
    db.session.commit()
    return bool(reserved) and _send_or_release(message, countdown)


def _send_or_release(message: Message, countdown: float | None = None) -> bool:
    try:
        send_to_broker(message, countdown)
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure leaves the job in the outbox
        log.warning("could not dispatch job %s (%s); the relay will retry", message.job_id, exc)
        db.session.rollback()
        db.session.execute(update(Job).where(Job.id == message.job_id).values(dispatched_at=None))
        db.session.commit()
        return False


def send_to_broker(message: Message, countdown: float | None = None, *, producer: Any = None) -> None:
    """Publish one job's message. With a `producer` (inside its publish batch, see
    hub/jobs/intake.py) the message is only buffered: a queue named by its name needs
    no declaration, and a buffered publish has nothing to retry."""
    celery_app = current_app.extensions["celery"]
    batched = {"producer": producer, "declare": [], "retry": False} if producer is not None else {}
    headers = {"request_id": message.request_id, "job_type": message.type,
               "tenant_id": str(message.tenant_id)}
    with tracing.dispatching(str(message.job_id), message.type, str(message.tenant_id),
                             message.request_id, message.traceparent, headers):
        # Named after the job type, with the job and tenant as arguments: what Flower shows.
        celery_app.send_task(
            message.type, kwargs={"job_id": str(message.job_id), "tenant_id": str(message.tenant_id)},
            task_id=str(message.job_id), queue=message.queue,
            countdown=countdown if countdown and countdown > 0 else None,
            # The ledger holds results; not subscribing to Celery's result keeps
            # publishing a single round trip (and quick to fail when Redis is down).
            ignore_result=True, headers=headers, **batched,
        )


# --- reading ----------------------------------------------------------------

def get_job(job_id: uuid.UUID, tenant_id: uuid.UUID | None) -> Job:
    """A job of this tenant (any tenant's when `tenant_id` is None: staff), or NotFound."""
    job = db.session.get(Job, job_id)
    if job is None or (tenant_id is not None and job.tenant_id != tenant_id):
        raise NotFound("Job not found.")
    return job


def list_events(job: Job, page: int, per_page: int) -> tuple[list[JobEvent], int]:
    query = select(JobEvent).where(JobEvent.job_id == job.id)
    return paginate(query, page, per_page, JobEvent.id)


# --- cancel and retry (API side) ----------------------------------------------

def cancel(job: Job) -> Job:
    """queued/retrying/running → cancelled; a running handler stops at its next checkpoint."""
    if job.status in FINISHED_STATUSES:
        raise Conflict(f"The job is already {job.status}.")
    was = job.status
    now = utcnow()
    job.status, job.message, job.finished_at = "cancelled", "cancelled", now
    job.next_attempt_at = None
    add_event(job, "transition", "cancelled", data={"was": was})
    db.session.commit()
    emit_job_update(job)
    return job


def retry(job: Job) -> Job:
    """failed/cancelled → queued, with a fresh budget of attempts (attempts keep counting)."""
    if job.status not in ("failed", "cancelled"):
        raise Conflict(f"Only failed or cancelled jobs can be retried; this one is {job.status}.")
    jtype: JobType | None = get_job_type(job.type)
    budget = jtype.retry.max_attempts if jtype else 1
    job.status, job.message, job.progress = "queued", "queued for retry", 0
    job.error = job.result = job.finished_at = job.next_attempt_at = None
    job.dispatched_at = job.lease_token = job.lease_expires_at = None
    job.max_attempts = job.attempts + budget
    add_event(job, "transition", "queued for retry")
    _mark_pending(job)
    commit_and_dispatch(expire=False)  # answer the job as queued here, even if a worker already took it
    return job


def purge_finished(older_than: timedelta) -> int:
    """Delete finished jobs (and, by cascade, their events) older than the cutoff."""
    cutoff = utcnow() - older_than
    ids = select(Job.id).where(Job.status.in_(FINISHED_STATUSES), Job.finished_at < cutoff)
    db.session.execute(JobEvent.__table__.delete().where(JobEvent.job_id.in_(ids)))
    deleted = db.session.execute(Job.__table__.delete().where(
        Job.status.in_(FINISHED_STATUSES), Job.finished_at < cutoff)).rowcount
    db.session.commit()
    return deleted
