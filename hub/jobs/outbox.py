"""The relay: what `commit_and_dispatch()` could not send, sent later.

Beat runs `relay()` every few seconds. It recovers expired leases (the
worker side's job, `runs`), sends due jobs that are still in the outbox
(`dispatched_at IS NULL`) as their limits allow, tenants in turns
(`ledger.dispatch_ready`, `scheduler`), and re-sends jobs
whose message was lost. It sits above `ledger` and `runs`, which never
import it.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select

from hub.extensions import db
from hub.jobs import runs as job_runs
from hub.jobs.ledger import Message, _send_or_release, dispatch_ready
from hub.models import Job, utcnow

log = logging.getLogger(__name__)


def relay(batch: int = 200) -> dict[str, int]:
    """Recover expired leases, send due undispatched jobs, re-send stale ones.

    Safe to run concurrently (rows are claimed with FOR UPDATE SKIP LOCKED on
    PostgreSQL) and cheap when there is nothing to do.
    """
    counts = {"recovered": job_runs.recover_expired_leases(batch)}
    counts["dispatched"] = _dispatch_due(batch)
    counts["redispatched"] = _redispatch_stale(batch)
    if any(counts.values()):
        log.info("relay: %s", counts)
    return counts


def _dispatch_due(batch: int) -> int:
    grace = timedelta(seconds=current_app.config["JOB_DISPATCH_GRACE_SECONDS"])
    return dispatch_ready(batch, grace=grace)


def _redispatch_stale(batch: int) -> int:
    """Re-send jobs dispatched long ago that never started (a lost message)."""
    now = utcnow()
    stale = now - timedelta(seconds=current_app.config["JOB_REDISPATCH_SECONDS"])
    jobs = db.session.scalars(
        select(Job).where(Job.status.in_(("queued", "retrying")), Job.dispatched_at < stale,
                          or_(Job.next_attempt_at.is_(None), Job.next_attempt_at < stale))
        .limit(batch).with_for_update(skip_locked=True)).all()
    for job in jobs:
        job.dispatched_at = now
    messages = [Message.of(job) for job in jobs]
    db.session.commit()
    return sum(1 for message in messages if _send_or_release(message))
