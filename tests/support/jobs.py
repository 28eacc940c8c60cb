"""Jobs in tests: wait for one to reach a status, or run the queued ones in this process."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.processes import wait_until

FINAL = ("succeeded", "failed", "cancelled")


def wait_for_job(reader: Any, job_id: str, status: str | tuple[str, ...] = "succeeded",
                 timeout: float = 60) -> Any:
    """Poll the job until its status is `status` (or one of them); return it as then read.

    `reader` is an account (anything with `.get(path)` of the test client: the job as
    `GET /jobs/{id}` answers it) or a function of the job id (a row, a dict). A job that
    ends in another final status fails at once, with the job in the message.
    """
    wanted = (status,) if isinstance(status, str) else status
    read: Callable[[str], Any] = reader if callable(reader) else \
        (lambda jid: reader.get(f"/api/v1/jobs/{jid}").get_json()["data"])

    def check() -> Any:
        job = read(job_id)
        current = job["status"] if isinstance(job, dict) else job.status
        if current in wanted:
            return job
        if current in FINAL:
            raise _Finished(f"job {job_id} ended {current}, not {'/'.join(wanted)}: {job}")
        return None

    try:
        return wait_until(check, timeout, f"job {job_id} to be {'/'.join(wanted)}", reraise=(_Finished,))
    except _Finished as finished:
        raise AssertionError(str(finished)) from None


class _Finished(Exception):
    pass


def run_queued_jobs(app: Any = None, job_type: str | None = None) -> list[str]:
    """Run every queued or retrying job (of `job_type`) in this process, as a worker would,
    until none is left that has not run once; the ids run. A retry's wait is skipped.

    In `app`'s context if given (an app of other settings, say), else in the current one.
    For the many cases that need no separate process; real workers run in the e2e tests.
    """
    if app is not None:
        with app.app_context():
            try:
                return run_queued_jobs(None, job_type)
            finally:
                from hub.extensions import db

                db.session.remove()
    from sqlalchemy import func, select

    from hub.extensions import db
    from hub.jobs import runs
    from hub.models import Job
    from workers.base import HubTask

    ran: list[Any] = []
    while True:
        db.session.commit()
        query = select(Job.id).where(Job.status.in_(("queued", "retrying"))).order_by(Job.created_at)
        if job_type:
            query = query.where(Job.type == job_type)
        ids = [i for i in db.session.scalars(query) if i not in ran]
        if not ids:
            return [str(i) for i in ran]
        for job_id in ids:
            # As a worker receiving the job's message: due now, and sent (a worker only
            # claims a job the ledger dispatched).
            db.session.execute(Job.__table__.update().where(Job.id == job_id).values(
                next_attempt_at=None, dispatched_at=func.coalesce(Job.dispatched_at, func.now())))
            db.session.commit()
            run = runs.claim(job_id, "test-inline")
            ran.append(job_id)
            if run is not None:
                HubTask._run_claimed(HubTask(), run)
