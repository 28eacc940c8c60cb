"""The job pipeline's tasks: run a job, relay the outbox, purge old jobs."""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from flask import current_app

from hub import jobs
from hub.jobs.types import all_job_types
from workers.base import HubTask
from workers.periodic import periodic, run_once


def run_job(self: HubTask, job_id: str, tenant_id: str | None = None) -> dict:
    """Run one attempt of a job of the ledger (task id = job id)."""
    return self.run_job(job_id)


# One Celery task per job type, named like it (`email.send`), so Flower lists each
# job under its type with its job id and tenant as arguments. The ledger, not the
# task, decides what runs: every one of them calls the same `run_job`.
for _jtype in all_job_types():
    shared_task(bind=True, base=HubTask, name=_jtype.name, ignore_result=True)(run_job)
# Messages queued under the one name every job had before, e.g. across an upgrade.
shared_task(bind=True, base=HubTask, name=jobs.RUN_TASK, ignore_result=True)(run_job)


@shared_task(name="hub.maintenance.relay_jobs", ignore_result=True)
def relay_jobs() -> dict | None:
    """Dispatch the outbox: undispatched, due and orphaned jobs."""
    with run_once("relay", ttl=current_app.config["JOB_RELAY_INTERVAL"] * 5) as mine:
        return jobs.relay() if mine else None


@shared_task(name="hub.maintenance.purge_old_jobs", ignore_result=True)
def purge_old_jobs() -> int | None:
    """Delete finished jobs and their events past JOB_RETENTION_DAYS."""
    with run_once("purge-old-jobs", ttl=600) as mine:
        if not mine:
            return None
        return jobs.purge_finished(timedelta(days=current_app.config["JOB_RETENTION_DAYS"]))


periodic(relay_jobs.name, interval_setting="JOB_RELAY_INTERVAL", enabled_setting="JOB_RELAY_ENABLED")
periodic(purge_old_jobs.name, every=3600, enabled_setting="JOB_RETENTION_ENABLED")
