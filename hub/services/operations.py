"""The operator's view of the ledger: search every tenant's jobs, failures grouped,
stuck jobs, and retry or cancel in bulk by filter.

Flower forgets on restart and knows only what it saw; the ledger in PostgreSQL
has every job's history, arguments and error. Staff use this to answer "which
jobs failed, why, for whom" and to act on a whole set at once.

Bulk actions are two calls by design: a dry run counts what a filter matches,
and the real call must send that count back (`expected`). If the set changed
in between (new failures, another operator's retry), the hub answers 409
rather than act on jobs nobody looked at. At most OPS_BULK_MAX jobs, oldest
first, are acted on per call; each is audited in its tenant like a single
retry or cancel, and the whole call once in the operator's tenant.
"""
from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, or_, select

from hub import audit
from hub.extensions import db
from hub.jobs import actions as job_actions
from hub.models import Job, utcnow
from hub.services import paginate
from hub.web.errors import Conflict, HubError, ValidationFailed

RETRYABLE = ("failed", "cancelled")
CANCELLABLE = ("queued", "retrying", "running")
NO_ERROR_CODE = "-"


@dataclass(frozen=True)
class JobFilter:
    """Which jobs: every field given narrows the set; none given means every job."""

    tenant_id: uuid.UUID | None = None
    type: str | None = None
    statuses: tuple[str, ...] = ()
    error_code: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    payload_key: str | None = None
    payload_value: str | None = None

    def describe(self) -> dict[str, Any]:
        """For the audit trail: the filter as JSON, without the empty fields."""
        out = {}
        for key, value in asdict(self).items():
            if value in (None, ()):
                continue
            out[key] = (value.isoformat() if isinstance(value, datetime)
                        else list(value) if isinstance(value, tuple) else str(value))
        return out


def _query(f: JobFilter) -> Select:
    query = select(Job)
    if f.tenant_id is not None:
        query = query.where(Job.tenant_id == f.tenant_id)
    if f.type:
        query = query.where(Job.type == f.type)
    if f.statuses:
        query = query.where(Job.status.in_(f.statuses))
    if f.error_code:
        query = query.where(Job.error["code"].as_string() == f.error_code)
    if f.created_after is not None:
        query = query.where(Job.created_at >= f.created_after)
    if f.created_before is not None:
        query = query.where(Job.created_at < f.created_before)
    if f.payload_key:
        found = Job.payload[f.payload_key]
        query = query.where(found.as_string() == f.payload_value if f.payload_value is not None
                            else found.is_not(None))
    return query


def search(f: JobFilter, page: int, per_page: int) -> tuple[list[Job], int]:
    """Jobs of any tenant matching the filter, newest first."""
    return paginate(_query(f), page, per_page, Job.created_at.desc(), Job.id)


def failed_groups(f: JobFilter, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """Failed jobs grouped by type and error code, the biggest group first; and the number
    of groups."""
    sub = _query(f if f.statuses else replace(f, statuses=("failed",))).subquery()
    job = sub.c
    code = func.coalesce(job.error["code"].as_string(), NO_ERROR_CODE)
    groups = (select(job.type, code.label("code"), func.count().label("count"),
                     func.count(func.distinct(job.tenant_id)).label("tenants"),
                     func.min(job.created_at).label("first_created_at"),
                     func.max(job.finished_at).label("last_failed_at"))
              .group_by(job.type, code))
    total = db.session.scalar(select(func.count()).select_from(groups.subquery())) or 0
    rows = db.session.execute(groups.order_by(func.count().desc(), job.type, code)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return [{"type": r.type, "error_code": r.code, "count": r.count, "tenants": r.tenants,
             "first_created_at": r.first_created_at, "last_failed_at": r.last_failed_at}
            for r in rows], total


def stuck(not_started_for: timedelta, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """Jobs sent to a worker long ago that never started, and running jobs whose lease
    ran out (their worker died or hung; the relay recovers those), oldest first."""
    now = utcnow()
    not_started = (Job.status.in_(("queued", "retrying")) & (Job.dispatched_at < now - not_started_for))
    lease_expired = (Job.status == "running") & (Job.lease_expires_at < now)
    query = select(Job).where(or_(not_started, lease_expired))
    jobs, total = paginate(query, page, per_page, Job.created_at, Job.id)
    out = []
    for job in jobs:
        if job.status == "running":
            reason, since = "lease_expired", job.lease_expires_at
        else:
            reason, since = "not_started", job.dispatched_at
        out.append({"job": job, "reason": reason,
                    "stuck_seconds": round((now - since).total_seconds(), 1) if since else None})
    return out, total


def bulk(action: str, actor: audit.Actor, f: JobFilter, *, dry_run: bool,
         expected: int | None) -> dict[str, Any]:
    """Retry or cancel every job the filter matches, up to OPS_BULK_MAX (see module doc)."""
    allowed = RETRYABLE if action == "retry" else CANCELLABLE
    wrong = [s for s in f.statuses if s not in allowed]
    if wrong:
        raise ValidationFailed(
            f"Only {', '.join(allowed)} jobs can be {_past(action)}.",
            details={"fields": {"json": {"filter": {"status": [f"not one of {', '.join(allowed)}"]}}}})
    if not f.statuses:
        f = replace(f, statuses=allowed)
    cap = int(current_app.config["OPS_BULK_MAX"])
    matched = db.session.scalar(select(func.count()).select_from(_query(f).subquery())) or 0
    selected = min(matched, cap)
    summary = {"action": action, "dry_run": dry_run, "matched": matched, "selected": selected,
               "max": cap, "done": 0, "skipped": 0}
    if dry_run:
        db.session.rollback()
        return summary
    if expected is None:
        raise ValidationFailed("Send `expected`: the `selected` count of a dry run of this filter.",
                               details={"fields": {"json": {"expected": ["required unless dry_run"]}}})
    if expected != selected:
        raise Conflict(f"The filter selects {selected} jobs now, not {expected}: run the dry run again.",
                       details={"selected": selected, "expected": expected})
    ids = db.session.scalars(_query(f).with_only_columns(Job.id)
                             .order_by(Job.created_at, Job.id).limit(cap)).all()
    change = job_actions.retry if action == "retry" else job_actions.cancel
    for job_id in ids:
        job = db.session.get(Job, job_id)
        if job is None:  # purged since it was selected
            summary["skipped"] += 1
            continue
        try:
            change(actor, job)
            summary["done"] += 1
        except HubError:  # changed since it was counted (finished, retried by someone else)
            summary["skipped"] += 1
    audit.record(actor, f"jobs.bulk_{_past(action)}", "job", None,
                 {"filter": f.describe(), "done": summary["done"], "skipped": summary["skipped"]})
    db.session.commit()
    return summary


def _past(action: str) -> str:
    return "retried" if action == "retry" else "cancelled"
