"""The relay: what `commit_and_dispatch()` could not send, sent later.

Beat runs `relay()` every few seconds. It recovers expired leases (the
worker side's job, `runs`), sends due jobs that are still in the outbox
(`dispatched_at IS NULL`) as their tenants' slots allow, and re-sends jobs
whose message was lost. It sits above `ledger` and `runs`, which never
import it.
"""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from hub.extensions import db
from hub.jobs import runs as job_runs
from hub.jobs.ledger import Message, _in_flight, _lock_tenant, _send_or_release, tier_limits
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
    now = utcnow()
    grace = timedelta(seconds=current_app.config["JOB_DISPATCH_GRACE_SECONDS"])
    due = or_(and_(Job.next_attempt_at.is_(None), Job.created_at <= now - grace),
              Job.next_attempt_at <= now)
    candidates = db.session.scalars(
        select(Job).where(Job.status.in_(("queued", "retrying")), Job.dispatched_at.is_(None), due)
        .order_by(func.coalesce(Job.next_attempt_at, Job.created_at)).limit(batch)
        .with_for_update(skip_locked=True)).all()
    if not candidates:
        db.session.commit()
        return 0
    # Free slots per tenant, then round-robin across tenants so one tenant's
    # backlog cannot starve another's jobs.
    by_tenant: dict[uuid.UUID, list[Job]] = {}
    for job in candidates:
        by_tenant.setdefault(job.tenant_id, []).append(job)
    slots = {}
    for tenant_id in sorted(by_tenant):
        _lock_tenant(tenant_id)
        limit = int(tier_limits(tenant_id)["concurrency"])
        slots[tenant_id] = limit - _in_flight(tenant_id, cap=limit)
    chosen: list[Job] = []
    while any(by_tenant.values()):
        for tenant_id, queue in by_tenant.items():
            if queue and slots[tenant_id] > 0:
                chosen.append(queue.pop(0))
                slots[tenant_id] -= 1
            elif queue:
                queue.clear()
    for job in chosen:
        job.dispatched_at = now
    messages = [Message.of(job) for job in chosen]
    db.session.commit()
    sent = 0
    for message in messages:
        if not _send_or_release(message):
            # The broker is down: leave the rest in the outbox for the next run.
            rest = [m.job_id for m in messages[sent + 1:]]
            db.session.execute(update(Job).where(Job.id.in_(rest)).values(dispatched_at=None))
            db.session.commit()
            break
        sent += 1
    return sent


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
