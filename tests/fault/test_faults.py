"""Faults: Redis down at submit time (one job or a batch), a worker killed mid-job."""
from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.models import Job, JobEvent
from tests.support.jobs import wait_for_job
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
    wait_for_job(lambda jid: _job(app, jid), job_id, "succeeded")


def test_batch_accepted_while_redis_is_down_waits_in_the_outbox(app, register, redis_down):
    owner = register()
    with redis_down():
        started = time.monotonic()
        resp = owner.post("/api/v1/jobs/batch", json={"jobs": [DEMO] * 3})
        elapsed = time.monotonic() - started
    assert resp.status_code == 202, resp.get_json()
    assert elapsed < 10
    # Every job is in the ledger, none counted as sent: the relay sends them later.
    assert [_job(app, j["id"]).dispatched_at for j in resp.get_json()["data"]] == [None] * 3


def test_worker_killed_mid_job_is_recovered_once_by_the_lease_expiry(app, register, workers):
    """Two warm workers; the one running the job is killed. What is measured is the ledger's
    part: from the lease's expiry (the dead worker's last renewal + JOB_LEASE_SECONDS, as the
    database recorded it) to the second attempt starting on the spare. No worker boots in
    that span, so the margin only has to cover the relay's interval and one dispatch on a
    loaded machine."""
    owner = register()
    pair = {w.name: w for w in workers.workers(["left", "right"])}
    workers.beat()
    job_id = owner.post("/api/v1/jobs", json={"type": "demo.sleep",
                                              "payload": {"seconds": 4}}).get_json()["data"]["id"]
    running = wait_until(lambda: (j := _job(app, job_id)).progress > 0 and j, 30, "the job to make progress")
    (doomed,) = [w for name, w in pair.items() if name in running.worker]
    doomed.kill()  # SIGKILL: no goodbye, the lease just stops being renewed
    lease_expired_at = _job(app, job_id).lease_expires_at  # its last renewal's, now final
    wait_for_job(lambda jid: _job(app, jid), job_id, "succeeded")

    job = _job(app, job_id)
    assert job.attempts == 2 and job.result == {"slept": 4.0, "attempt": 2}
    assert doomed.name not in job.worker  # the spare finished it
    with app.app_context():
        events = db.session.execute(select(JobEvent.status, JobEvent.attempt, JobEvent.created_at).where(
            JobEvent.job_id == job.id, JobEvent.kind == "transition").order_by(JobEvent.id)).all()
    statuses = [e.status for e in events]
    assert statuses.count("succeeded") == 1  # the side effect happened once
    (expiry,) = [e for e in events if e.status == "retrying"]  # the lease expiry, recorded
    (restart,) = [e for e in events if e.status == "running" and e.attempt == 2]
    # Not before the lease ran out (the relay waits for it)...
    assert expiry.created_at >= lease_expired_at, (expiry.created_at, lease_expired_at)
    # ...and soon after: the relay runs every JOB_RELAY_INTERVAL (0.5 s here); 10 s more covers
    # a dispatch and a warm worker's pickup on two busy cores.
    recovery = (restart.created_at - lease_expired_at).total_seconds()
    assert recovery < app.config["JOB_RELAY_INTERVAL"] + 10, recovery
