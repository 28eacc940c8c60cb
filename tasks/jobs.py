"""The job pipeline's tasks: run a job, relay the outbox, purge old jobs."""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from flask import current_app

from hub import jobs
from workers.base import HubTask
from workers.periodic import periodic, run_once


@shared_task(bind=True, base=HubTask, name=jobs.RUN_TASK, ignore_result=True)
def run_job(self: HubTask, job_id: str) -> dict:
    """Run one attempt of a job of the ledger (task id = job id)."""
    return self.run_job(job_id)


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
