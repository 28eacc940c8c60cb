"""Jobs as a caller changes them through the API: create, cancel, retry, each audited.

The ledger (`hub/jobs/ledger.py`) sits below the services and knows nothing of who
asks; this layer adds the audit event to the same transaction, so a job that
was queued, cancelled or re-queued by a person or a key always says by whom.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hub import audit
from hub.extensions import db
from hub.jobs import intake
from hub.jobs import ledger as jobs
from hub.jobs.types import JobType
from hub.models import Job
from hub.web.errors import HubError


def create(actor: audit.Actor, type_name: str, payload: Any, *, run_at: datetime | None = None,
           notify: bool = False, priority: str = "normal") -> Any:
    """Queue a job for a caller and audit it. Commits, then dispatches. (The caller has
    counted it against the tenant's rate.)"""
    spec = intake.NewJob(type_name, payload, run_at, notify, priority=priority)
    (job,) = intake.accept(
        actor.tenant_id, [spec], intake.validate([spec], tenant_id=actor.tenant_id),
        created_by=actor.user_id,
        api_key_id=actor.api_key_id,
        audit=[intake.AuditRow("job.created", "job", str(spec.id), {"type": type_name},
                               audit.request_ip())])
    return job


def create_batch(actor: audit.Actor, specs: Sequence[intake.NewJob],
                 types: Sequence[JobType]) -> list[Any]:
    """Queue jobs validated by `intake.validate` for a caller, all or none, with one audit
    event naming them all. Commits, then dispatches."""
    details = {"count": len(specs), "types": sorted({s.type for s in specs}),
               "job_ids": [str(s.id) for s in specs]}
    return intake.accept(
        actor.tenant_id, specs, types, created_by=actor.user_id, api_key_id=actor.api_key_id,
        audit=[intake.AuditRow("job.batch_created", "job", None, details, audit.request_ip())])


def cancel(actor: audit.Actor, job: Job) -> Job:
    """Cancel a job and audit it (the ledger commits both, or neither on a 409)."""
    was = job.status
    return _audited(actor, job, "job.cancelled", {"was": was}, jobs.cancel)


def retry(actor: audit.Actor, job: Job) -> Job:
    """Queue a failed or cancelled job again and audit it."""
    was = job.status
    return _audited(actor, job, "job.retried", {"was": was, "attempts": job.attempts}, jobs.retry)


def _audited(actor: audit.Actor, job: Job, action: str, details: dict[str, Any], change) -> Job:
    # The audit row goes into the session first; the ledger's own commit carries it.
    audit.record(actor, action, "job", job.id, details, tenant_id=job.tenant_id)
    try:
        return change(job)
    except HubError:
        db.session.rollback()  # a refused change (409) leaves no audit row behind
        raise
