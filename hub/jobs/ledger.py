"""The job ledger: create, dispatch, relay, cancel, retry.

The `jobs` table is the outbox. A job row is added in the same transaction as
the domain rows that caused it; `commit_and_dispatch()` commits and only then hands new
jobs to Celery (task id = job id). A job that could not be handed over (Redis
down, its tenant's slots or one of its flow-control keys all taken) keeps
`dispatched_at = NULL`; a finished job hands its slots on at once
(`hand_on()`), and `relay()` — run by beat every few seconds — sends whatever
is left (`hub/jobs/outbox.py`). Which job goes next is the scheduler's choice
(`hub/jobs/scheduler.py`). The worker side of the ledger is in `hub/jobs/runs.py`.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from hub import tracing
from hub.extensions import db
from hub.jobs import admission, scheduler
from hub.jobs.schema import dump_job, emit_job_update
from hub.jobs.types import JobType, get_job_type
from hub.models import FINISHED_STATUSES, PRIORITIES, Job, JobEvent, Tenant, utcnow
from hub.models.base import paginate
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
               notify: bool = False, priority: str = "normal",
               flow_keys: list[str] | None = None) -> Job:
    """Add a queued job to the session; `commit_and_dispatch()` dispatches it.

    `priority` orders the tenant's own waiting jobs (up to its tier's
    `max_priority`); `flow_keys` are the keys its attempts hold, by default
    what the job type declares for this payload.

    Raises ValidationFailed for an unknown type, a type clients may not create
    (unless `internal`), a payload that does not match the type's schema, a
    `run_at` more than a year ahead, or a priority above the tenant's tier.
    """
    tenant_id = uuid.UUID(str(tenant_id))  # callers may hold it as text (events, JSON)
    jtype, errors, message = check_new_job(type_name, payload, run_at, internal=internal)
    if errors:
        raise ValidationFailed(message, details={"fields": {"json": errors}})
    now = utcnow()
    priority_errors, priority_message = check_priority(tenant_id, priority)
    if priority_errors:
        raise ValidationFailed(priority_message, details={"fields": {"json": priority_errors}})
    if flow_keys is None:
        flow_keys = jtype.flow_keys(payload, tenant_id) if jtype.flow_keys else []
    flow_keys = with_queue_key(flow_keys, jtype)
    job = Job(id=uuid.uuid4(), tenant_id=tenant_id, type=jtype.name, queue=jtype.queue,
              priority=PRIORITIES.index(priority), flow_keys=flow_keys,
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


def check_priority(tenant_id: uuid.UUID, priority: str) -> tuple[dict[str, Any], str]:
    """Field errors of a job's priority for this tenant, and their summary (none: allowed)."""
    if priority == "normal":
        return {}, ""
    if priority not in PRIORITIES:
        return {"priority": [f"one of {', '.join(PRIORITIES)}"]}, f"Unknown priority {priority!r}."
    allowed = admission.max_priority(admission.tenant_tier(tenant_id))
    if PRIORITIES.index(priority) > PRIORITIES.index(allowed):
        return ({"priority": [f"at most {allowed!r} on this tenant's plan"]},
                f"The tenant's plan allows priorities up to {allowed!r}.")
    return {}, ""


def with_queue_key(flow_keys: list[str], jtype: JobType) -> list[str]:
    """Every job holds its queue's key too: FLOW_LIMITS `queue:<name>` can keep the broker
    shallow, so the backlog waits in the outbox, where tenants take turns."""
    return [*flow_keys, f"queue:{jtype.queue}"]


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
    reserved = [job for job in pending if job.dispatched_at is not None
                and job.status in ("queued", "retrying")]
    countdowns = _confirm_slots(reserved)
    if len(countdowns) < len(reserved):
        db.session.flush()  # the held-back jobs say why, in their events too
    updates = [(dump_job(job), job_rooms(job)) for job in pending]
    messages = [Message.of(job, countdowns[job.id]) for job in reserved if job.id in countdowns]
    session = db.session()
    keep, session.expire_on_commit = session.expire_on_commit, expire and session.expire_on_commit
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep
    for payload, rooms in updates:
        emit(JOB_UPDATED, payload, rooms)
    for i, message in enumerate(messages):
        if not _send_or_release(message, message.countdown):
            # The broker is down: the rest go back to the outbox at once rather than
            # each waiting out its own connection timeout; the relay sends them all.
            _release([m.job_id for m in messages[i + 1:]])
            break


def _confirm_slots(reserved: list[Job]) -> dict[uuid.UUID, float]:
    """Check the slots reserved in this transaction against each tenant's and each
    flow key's limits, under their locks (held to the commit, which follows at
    once). Jobs over a limit give their slot back, say why, and wait in the
    outbox. Returns the admitted jobs' countdowns (a rate key's next start)."""
    if not reserved:
        return {}
    mine = [job.id for job in reserved]
    decision = admission.Admission.start(utcnow())
    decision.load_tenants({job.tenant_id for job in reserved}, exclude=mine)
    decision.load_keys({key for job in reserved for key in job.flow_keys}, exclude=mine,
                        queue_behind=True)
    admitted: dict[uuid.UUID, float] = {}
    # Highest priority first; otherwise the order they were created in.
    for job in sorted(reserved, key=lambda j: -j.priority):
        ok, countdown, why = decision.admit(job.tenant_id, job.flow_keys)
        if ok:
            admitted[job.id] = countdown
            continue
        log.info("job %s waits for %s", job.id, why)
        job.dispatched_at = None
        job.waiting_for = why
        job.message = admission.waiting_message(why, decision.tenant_limit.get(job.tenant_id))
    decision.save()
    return admitted


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
    countdown: float | None = None

    @classmethod
    def of(cls, job: Any, countdown: float | None = None) -> Message:
        return cls(job.id, job.queue, job.type, job.tenant_id, job.request_id,
                   getattr(job, "traceparent", None), countdown)


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
    """The advisory lock that serialises a tenant's slot accounting (the scheduler's)."""
    return admission.tenant_lock_id(tenant_id)


def dispatch(job: Job, countdown: float | None = None) -> bool:
    """Hand one committed job to the broker if it is due and its tenant and keys allow.

    The slot is reserved (`dispatched_at`) and committed before the message is
    sent; if sending fails the reservation is released and the relay retries.
    A job a limit holds back says why and waits for a hand-on or the relay.
    Returns True if a message was sent.
    """
    now = utcnow()
    if job.status not in ("queued", "retrying") or job.dispatched_at is not None:
        return False
    if countdown is None and job.next_attempt_at is not None and job.next_attempt_at > now:
        return False
    message = Message.of(job)
    keys = list(job.flow_keys or ())
    decision = admission.Admission.start(now)
    decision.load_tenants([job.tenant_id])
    decision.load_keys(keys)
    ok, wait, why = decision.admit(job.tenant_id, keys)
    held = []
    if ok:
        decision.save()
        ok = bool(db.session.execute(
            update(Job).where(Job.id == job.id, Job.dispatched_at.is_(None),
                              Job.status.in_(("queued", "retrying")))
            .values(dispatched_at=now)).rowcount)
    else:
        held = scheduler.hold({job.id: (why, admission.waiting_message(
            why, decision.tenant_limit.get(job.tenant_id)))}, now)
    db.session.commit()
    _emit_rows(held)
    return ok and _send_or_release(message, max(countdown or 0.0, wait) or None)


def _send_or_release(message: Message, countdown: float | None = None) -> bool:
    try:
        send_to_broker(message, countdown)
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure leaves the job in the outbox
        log.warning("could not dispatch job %s (%s); the relay will retry", message.job_id, exc)
        db.session.rollback()
        # Only if still waiting to start: a publish can fail after the message reached
        # Redis, and a worker may have claimed the job already.
        db.session.execute(update(Job).where(Job.id == message.job_id,
                                             Job.status.in_(("queued", "retrying")))
                           .values(dispatched_at=None))
        db.session.commit()
        return False


def _release(job_ids: list[uuid.UUID]) -> None:
    """Jobs reserved but not sent (the broker is down): back to the outbox, unless a
    worker has claimed one meanwhile."""
    if job_ids:
        db.session.execute(update(Job).where(Job.id.in_(job_ids), Job.status.in_(("queued", "retrying")))
                           .values(dispatched_at=None))
        db.session.commit()


def _emit_rows(rows: list[Any]) -> None:
    for row in rows:
        emit(JOB_UPDATED, dump_job(row), job_rooms(row))


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
        # A type this hub no longer knows goes under the generic name the workers always
        # register, so a worker claims it and fails it (UNKNOWN_JOB_TYPE) instead of
        # Celery discarding a message for an unregistered task while the job keeps its slot.
        task_name = message.type if get_job_type(message.type) is not None else RUN_TASK
        celery_app.send_task(
            task_name, kwargs={"job_id": str(message.job_id), "tenant_id": str(message.tenant_id)},
            task_id=str(message.job_id), queue=message.queue,
            countdown=countdown if countdown and countdown > 0 else None,
            # The ledger holds results; not subscribing to Celery's result keeps
            # publishing a single round trip (and quick to fail when Redis is down).
            ignore_result=True, headers=headers, **batched,
        )


def dispatch_ready(batch: int = 200, *, grace: timedelta = timedelta(0),
                   tenant_ids: list[uuid.UUID] | None = None, keys: list[str] | None = None) -> int:
    """Send due waiting jobs the limits allow, tenants in turns (`hub/jobs/scheduler.py`).

    Narrowed to `tenant_ids`/`keys` when a finished job hands its slots on;
    every tenant when the relay runs. Jobs younger than `grace` that no limit
    held back are left to their creator's own dispatch. Returns how many were sent.
    """
    now = utcnow()
    picks, held = scheduler.pick(now, batch, fresh=now - grace, tenant_ids=tenant_ids, keys=keys)
    rows = scheduler.hold(held, now) if held else []
    waited = [p.id for p in picks if p.was_waiting_for is not None]
    db.session.commit()
    _emit_rows(rows)
    if waited:  # no longer waiting for a limit: `waiting_for` is null again
        _emit_rows(db.session.scalars(select(Job).where(Job.id.in_(waited))).all())
        db.session.commit()
    messages = [Message(p.id, p.queue, p.type, p.tenant_id, p.request_id, p.traceparent, p.countdown)
                for p in picks]
    sent = 0
    for message in messages:
        if not _send_or_release(message, message.countdown):
            # The broker is down: leave the rest in the outbox for the next run.
            _release([m.job_id for m in messages[sent + 1:]])
            break
        sent += 1
    return sent


def hand_on(tenant_id: uuid.UUID, keys: list[str] | tuple[str, ...] = ()) -> int:
    """Right after a job stops holding its slots: give them to the next waiting jobs
    at once (the tenant's own, and any tenant's waiting for the same keys), not at
    the relay's next run. Cheap when nothing waits."""
    freed = admission.concurrency_keys(keys)
    if not scheduler.anything_waiting([tenant_id], freed):
        return 0
    try:
        # One slot of the tenant and one of each key came free: a few picks fill them
        # (the relay sends whatever else may go), and a few tenants' locks suffice.
        return dispatch_ready(len(freed) + 2, tenant_ids=[tenant_id], keys=freed)
    except Exception as exc:  # noqa: BLE001 - the relay hands the slot on instead
        log.warning("could not hand on the slots of tenant %s (%s); the relay will", tenant_id, exc)
        db.session.rollback()
        return 0


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
    held = job.dispatched_at is not None  # it held a slot (and its keys) until now
    tenant_id, keys = job.tenant_id, list(job.flow_keys or ())
    db.session.commit()
    emit_job_update(job)
    if held:
        hand_on(tenant_id, keys)
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
