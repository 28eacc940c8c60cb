"""The outbox relay, tenant slots, lease recovery and retention — on the real database
and Redis, calling the beat entries' functions directly (no worker)."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub import jobs
from hub.extensions import db, redis_client
from hub.models import Job, JobEvent, utcnow
from workers.periodic import run_once

DEMO = {"type": "demo.sleep", "payload": {"seconds": 1}}


def _queued_ids(queue: str = "default") -> list[str]:
    """Job ids of the messages waiting in a Redis queue, oldest first (kombu LPUSHes)."""
    raw = redis_client().lrange(queue, 0, -1)
    return [json.loads(message)["headers"]["id"] for message in reversed(raw)]


def _job(job_id) -> Job:
    db.session.commit()  # keep pending edits, and read the rows afresh (expire on commit)
    return db.session.get(Job, uuid.UUID(str(job_id)))


@pytest.fixture
def owner(register):
    return register()


def test_fast_path_dispatches_after_commit(app_ctx, owner):
    job_id = owner.post("/api/v1/jobs", json=DEMO).get_json()["data"]["id"]
    assert _job(job_id).dispatched_at is not None
    assert _queued_ids() == [job_id]


def test_relay_sends_what_redis_refused(app, app_ctx, owner, redis_down):
    with redis_down():
        job_id = owner.post("/api/v1/jobs", json=DEMO).get_json()["data"]["id"]
        assert _job(job_id).dispatched_at is None
        assert jobs.relay()["dispatched"] == 0  # still down: nothing lost, nothing sent
    job = _job(job_id)
    job.created_at = utcnow() - timedelta(seconds=10)  # past the fast path's grace period
    db.session.commit()
    assert jobs.relay()["dispatched"] == 1
    assert _queued_ids() == [job_id]
    assert jobs.relay()["dispatched"] == 0  # dispatched once


def test_tenant_slots_hold_back_a_flood_without_starving_others(app, app_ctx, register):
    tiers = app.config["JOB_TIER_LIMITS"]
    app.config["JOB_TIER_LIMITS"] = {**tiers, "standard": {"rate": "100 per minute",
                                                           "concurrency": 2}}
    try:
        flooder, other = register(), register()
        flood = [flooder.post("/api/v1/jobs", json=DEMO).get_json()["data"]["id"] for _ in range(5)]
        quiet = other.post("/api/v1/jobs", json=DEMO).get_json()["data"]["id"]
        assert _queued_ids() == flood[:2] + [quiet]
        # A slot frees up: the relay sends the flooder's next job, oldest first.
        done = _job(flood[0])
        done.status, done.finished_at = "succeeded", utcnow()
        for job_id in flood[2:]:
            _job(job_id).created_at = utcnow() - timedelta(seconds=10)
        db.session.commit()
        assert jobs.relay()["dispatched"] == 1
        assert _queued_ids()[-1] == flood[2]
    finally:
        app.config["JOB_TIER_LIMITS"] = tiers


def test_expired_lease_is_retried_or_failed(app_ctx, owner):
    ids = [owner.post("/api/v1/jobs", json=DEMO).get_json()["data"]["id"] for _ in range(2)]
    for job_id, attempts in zip(ids, (1, 3), strict=True):
        job = _job(job_id)
        job.status, job.attempts, job.lease_token = "running", attempts, "dead-worker"
        job.lease_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert jobs.relay()["recovered"] == 2
    retried, failed = _job(ids[0]), _job(ids[1])
    assert retried.status == "retrying" and retried.error["code"] == "WORKER_LOST"
    assert retried.dispatched_at is not None  # sent again right away
    assert failed.status == "failed" and failed.error["code"] == "WORKER_LOST"


def test_parked_retry_is_sent_only_when_due(app_ctx, owner):
    job_id = owner.post("/api/v1/jobs", json=DEMO).get_json()["data"]["id"]
    job = _job(job_id)
    job.status, job.dispatched_at = "retrying", None
    job.next_attempt_at = utcnow() + timedelta(minutes=10)
    db.session.commit()
    redis_client().delete("default")
    assert jobs.relay()["dispatched"] == 0
    job = _job(job_id)
    job.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert jobs.relay()["dispatched"] == 1 and _queued_ids() == [job_id]


def test_lost_message_is_sent_again_after_a_while(app, app_ctx, owner):
    job_id = owner.post("/api/v1/jobs", json=DEMO).get_json()["data"]["id"]
    redis_client().delete("default")  # the message vanished (e.g. Redis lost its data)
    job = _job(job_id)
    job.dispatched_at = utcnow() - timedelta(seconds=app.config["JOB_REDISPATCH_SECONDS"] + 1)
    db.session.commit()
    assert jobs.relay()["redispatched"] == 1
    assert _queued_ids() == [job_id]


def test_periodic_work_runs_once_per_lock(app_ctx):
    with run_once("unit", ttl=5) as first:
        with run_once("unit", ttl=5) as second:
            assert (first, second) == (True, False)
    with run_once("unit", ttl=5) as again:
        assert again is True


def test_retention_deletes_old_finished_jobs_and_their_events(app_ctx, owner):
    old, recent, active = (owner.post("/api/v1/jobs", json=DEMO).get_json()["data"]["id"]
                           for _ in range(3))
    owner.post(f"/api/v1/jobs/{old}/cancel")
    owner.post(f"/api/v1/jobs/{recent}/cancel")
    _job(old).finished_at = utcnow() - timedelta(days=40)
    db.session.commit()
    assert jobs.purge_finished(timedelta(days=30)) == 1
    assert _job(old) is None and _job(recent) is not None and _job(active) is not None
    assert db.session.scalars(select(JobEvent).where(JobEvent.job_id == uuid.UUID(old))).all() == []


def test_a_leftover_message_cannot_run_a_job_that_is_back_in_the_outbox(app_ctx, owner):
    """A job cancelled and retried while its tenant is full waits in the outbox; the message
    its first dispatch left in Redis must not start it outside every slot and key."""
    from hub.jobs import runs

    job_id = owner.post("/api/v1/jobs", json=DEMO).get_json()["data"]["id"]
    job = _job(job_id)
    job.dispatched_at = None  # what cancel + retry into a full tenant leaves behind
    job.created_at = utcnow() - timedelta(minutes=1)  # past the creator's own dispatch grace
    db.session.commit()
    assert runs.claim(uuid.UUID(job_id), "leftover-worker") is None
    job = _job(job_id)
    assert (job.status, job.attempts, job.dispatched_at) == ("queued", 0, None)
    assert jobs.relay()["dispatched"] == 1  # the scheduler sends it afresh, in its turn
    assert runs.claim(uuid.UUID(job_id), "worker") is not None
