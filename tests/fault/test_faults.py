"""Faults: Redis down at submit time, a worker killed mid-job."""
from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.models import Job, JobEvent
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

DEMO = {"type": "demo.sleep", "payload": {"seconds": 1}}


def _job(app, job_id: str) -> Job:
    with app.app_context():
        job = db.session.get(Job, uuid.UUID(job_id))
        db.session.expunge(job)
        return job


def test_job_accepted_while_redis_is_down_runs_when_it_returns(app, client, register, redis_down,
                                                               start_worker, start_beat):
    owner = register()
    start_worker()
    start_beat()
    with redis_down():
        started = time.monotonic()
        resp = owner.post("/api/v1/jobs", json=DEMO)
        elapsed = time.monotonic() - started
        assert resp.status_code == 202, resp.get_json()
        job_id = resp.get_json()["data"]["id"]
        assert _job(app, job_id).dispatched_at is None  # kept in the outbox
        assert elapsed < 10
        # Auth still works: revocation checks fall back to the database.
        assert owner.get("/api/v1/auth/me").status_code == 200
    # No manual step: beat's relay sends it once the worker has reconnected.
    wait_until(lambda: _job(app, job_id).status == "succeeded", 60, "the job to succeed")


def test_worker_killed_mid_job_is_recovered_once(app, register, start_worker, start_beat):
    owner = register()
    first = start_worker("doomed")
    start_beat()
    job_id = owner.post("/api/v1/jobs", json={"type": "demo.sleep",
                                              "payload": {"seconds": 4}}).get_json()["data"]["id"]
    wait_until(lambda: _job(app, job_id).progress > 0, 30, "the job to make progress")
    first.kill()  # SIGKILL: no goodbye, the lease just stops being renewed
    killed_at = time.monotonic()
    start_worker("rescuer")
    wait_until(lambda: _job(app, job_id).status == "succeeded", 60, "the job to succeed")
    recovery = time.monotonic() - killed_at
    lease = app.config["JOB_LEASE_SECONDS"]
    # Lease expiry + relay interval + one run of the 4 s job, with slack for this machine.
    assert recovery < lease + 4 + 15, recovery
    job = _job(app, job_id)
    assert job.attempts == 2 and job.result == {"slept": 4.0, "attempt": 2}
    with app.app_context():
        statuses = db.session.scalars(select(JobEvent.status).where(
            JobEvent.job_id == job.id, JobEvent.kind == "transition")).all()
    assert statuses.count("succeeded") == 1  # the side effect happened once
    assert "retrying" in statuses  # the lease expiry was recorded
