"""The worker side of the job ledger: claim, progress, finish, leases.

Delivery is at least once, so every step is a compare-and-set on the job row:
an attempt claims a queued/retrying job and gets a lease token; progress and
the final result only land while the row still carries that token. A second
delivery of the same message finds the job running (or finished) and is
skipped; an attempt whose lease expired (its worker died or stalled) finds its
token gone and stops.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from hub.extensions import db
from hub.jobs import admission, events
from hub.jobs import steps as job_steps
from hub.jobs.ledger import add_event, commit_and_dispatch, dispatch, hand_on, job_event_data
from hub.jobs.schema import dump_job
from hub.jobs.types import JobCancelled, LeaseLost
from hub.models import Job, utcnow
from hub.realtime import JOB_UPDATED, emit, job_rooms

log = logging.getLogger(__name__)


@dataclass
class JobRun:
    """One attempt at a job, as the worker holds it."""

    job_id: uuid.UUID
    tenant_id: uuid.UUID
    type: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    request_id: str | None
    lease_token: str
    extra: dict[str, Any] = field(default_factory=dict)


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"])


def _owned(run: JobRun):
    return (Job.id == run.job_id, Job.lease_token == run.lease_token, Job.status == "running")


def _step(run: JobRun, values: dict[str, Any], kind: str, message: str | None = None,
          data: dict[str, Any] | None = None, *, alone: bool = False) -> tuple[Job | None, bool]:
    """A step of the running attempt: its row's compare-and-set and the event that records it.

    Returns the row as written (None if this attempt no longer owns the job)
    and whether it is already committed: with `alone`, a step with nothing
    else to commit commits itself in one round trip (hub/jobs/steps.py).
    Otherwise it joins the session's transaction and the caller commits.
    """
    return job_steps.step(job_steps.OWNED, {"w_id": run.job_id, "w_token": run.lease_token},
                          values, kind, message, data, alone=alone)


def _claim_step(job_id: uuid.UUID, now: datetime, values: dict[str, Any],
                worker: str) -> tuple[Job | None, bool]:
    """The claim's compare-and-set (a due queued or retrying job) and its event."""
    due = now + timedelta(seconds=1)
    return job_steps.step(job_steps.CLAIM, {"w_id": job_id, "w_due": due}, values, "transition",
                          data={"worker": worker}, claim_message=True, alone=True)


def _finish_step(job: Job, committed: bool) -> None:
    """Commit (unless the step did), then tell sockets. The payload is taken before the
    commit expires the row, so the emit needs no second read of a row just written."""
    payload, rooms = dump_job(job), job_rooms(job)
    if not committed:
        db.session.commit()
    emit(JOB_UPDATED, payload, rooms)


def claim(job_id: uuid.UUID, worker: str) -> JobRun | None:
    """Start an attempt, or None if the job is not ours to run (finished,
    cancelled, running elsewhere, or not due yet)."""
    now = utcnow()
    token = str(uuid.uuid4())
    job, committed = _claim_step(job_id, now, dict(
        status="running", lease_token=token, lease_expires_at=now + _lease(), worker=worker,
        message="running", next_attempt_at=None, updated_at=now), worker)
    if job is None:
        job = db.session.get(Job, job_id)
        if job is not None and job.status in ("queued", "retrying") and job.dispatched_at is not None:
            # Delivered early (a stale re-send): back to the outbox until due.
            job.dispatched_at = None
        db.session.commit()
        return None
    run = JobRun(job_id=job.id, tenant_id=job.tenant_id, type=job.type, payload=dict(job.payload),
                 attempt=job.attempts, max_attempts=job.max_attempts, request_id=job.request_id,
                 lease_token=token)
    run.extra["flow_keys"] = list(job.flow_keys or ())
    # From being sent to a worker (or created, if it never had to wait in the outbox).
    sent = job.dispatched_at or job.created_at
    run.extra["queue_wait"] = (now - sent).total_seconds() if sent is not None else None
    _finish_step(job, committed)
    return run


def pace_start(run: JobRun) -> None:
    """Hold the attempt until its rate keys allow it to start (usually no wait: the
    scheduler granted this start; a worker that was busy then may be late)."""
    wait = admission.start_delay(run.extra.get("flow_keys", ()))
    if wait > 0:
        time.sleep(wait)


def _lost_or_cancelled(run: JobRun) -> Exception:
    db.session.rollback()
    status = db.session.scalar(select(Job.status).where(Job.id == run.job_id))
    if status == "cancelled":
        return JobCancelled()
    return LeaseLost()


def renew_lease(run: JobRun) -> bool:
    """Extend the lease; False if this attempt no longer owns the job."""
    renewed = db.session.execute(update(Job).where(*_owned(run))
                                 .values(lease_expires_at=utcnow() + _lease())).rowcount
    db.session.commit()
    return bool(renewed)


def record_progress(run: JobRun, percent: int, message: str | None) -> None:
    """Store progress, log it, tell sockets; raises JobCancelled / LeaseLost."""
    percent = max(0, min(100, int(percent)))
    now = utcnow()
    values: dict[str, Any] = {"progress": percent, "updated_at": now,
                              "lease_expires_at": now + _lease()}
    if message is not None:
        values["message"] = message[:500]
    job, committed = _step(run, values, "progress", alone=True)
    if job is None:
        raise _lost_or_cancelled(run)
    _finish_step(job, committed)


def check_cancelled(run: JobRun) -> None:
    db.session.rollback()  # read the current row, not this session's snapshot
    row = job_steps.read_lease(run.job_id)  # one round trip, no transaction
    if row is None or row.status == "cancelled":
        raise JobCancelled()
    if row.lease_token != run.lease_token or row.status != "running":
        raise LeaseLost()


def succeed(run: JobRun, result: Any) -> None:
    now = utcnow()
    # In the session's transaction: the handler's own writes and whatever the
    # event's listeners queue commit with the success, or not at all.
    job, _ = _step(run, dict(
        status="succeeded", progress=100, message="succeeded", result=result, error=None,
        finished_at=now, updated_at=now, lease_token=None, lease_expires_at=None),
        "transition", "succeeded")
    if job is None:
        raise _lost_or_cancelled(run)
    events.publish(job.tenant_id, "job.succeeded", job_event_data(job))
    payload, rooms = dump_job(job), job_rooms(job)
    commit_and_dispatch()  # with whatever the event's listeners queued
    emit(JOB_UPDATED, payload, rooms)
    hand_on(run.tenant_id, job.flow_keys)


def fail(run: JobRun, code: str, message: str, retry_in: float | None) -> None:
    """Record a failed attempt: park a retry (`retry_in` seconds) or fail for good."""
    now = utcnow()
    error = {"code": code, "message": message[:1000]}
    if retry_in is not None and run.attempt < run.max_attempts:
        values = dict(status="retrying", message=f"retrying in {retry_in:.1f} s", error=error,
                      next_attempt_at=now + timedelta(seconds=retry_in), dispatched_at=None)
        note = f"attempt {run.attempt} failed; retrying in {retry_in:.1f} s"
    else:
        values = dict(status="failed", message="failed", error=error, finished_at=now)
        note = f"attempt {run.attempt} failed; no attempts left" if retry_in is not None \
            else f"attempt {run.attempt} failed permanently"
    job, _ = _step(run, dict(updated_at=now, lease_token=None, lease_expires_at=None, **values),
                   "transition", note,
                   {"error": error, "retry_in": retry_in if values["status"] == "retrying" else None})
    if job is None:
        raise _lost_or_cancelled(run)
    if job.status == "failed":
        events.publish(job.tenant_id, "job.failed", job_event_data(job))
    payload, rooms = dump_job(job), job_rooms(job)
    commit_and_dispatch()
    emit(JOB_UPDATED, payload, rooms)
    if values["status"] == "retrying" and retry_in <= current_app.config["JOB_SHORT_RETRY_SECONDS"]:
        # Short waits ride on a broker countdown; longer ones stay parked in the
        # database for the relay, out of reach of Redis's visibility timeout.
        if dispatch(job, countdown=retry_in):
            return
    hand_on(run.tenant_id, job.flow_keys)


def release_cancelled(run: JobRun) -> None:
    """The handler stopped after a cancel: drop the lease and note it."""
    job = db.session.get(Job, run.job_id)
    if job is not None and job.lease_token == run.lease_token:
        job.lease_token = job.lease_expires_at = None
        add_event(job, "transition", f"attempt {run.attempt} stopped after cancel")
        keys = list(job.flow_keys or ())
        db.session.commit()
        hand_on(run.tenant_id, keys)


def recover_expired_leases(batch: int) -> int:
    """Running jobs whose worker stopped renewing: retry them (or fail, if out of attempts)."""
    now = utcnow()
    jobs = db.session.scalars(
        select(Job).where(Job.status == "running", Job.lease_expires_at < now)
        .limit(batch).with_for_update(skip_locked=True)).all()
    for job in jobs:
        error = {"code": "WORKER_LOST", "message": "The worker running this job stopped responding."}
        job.lease_token = job.lease_expires_at = None
        job.error = error
        if job.attempts < job.max_attempts:
            job.status, job.message = "retrying", "worker lost; retrying"
            job.next_attempt_at, job.dispatched_at = now, None
        else:
            job.status, job.message, job.finished_at = "failed", "failed", now
        add_event(job, "transition", f"lease of attempt {job.attempts} expired", data={"error": error})
        if job.status == "failed":
            events.publish(job.tenant_id, "job.failed", job_event_data(job))
    db.session.flush()
    updates = [(dump_job(job), job_rooms(job)) for job in jobs]
    commit_and_dispatch()
    for payload, rooms in updates:
        emit(JOB_UPDATED, payload, rooms)
    return len(jobs)
