"""POST /jobs/batch without workers: all or nothing, order, limits, idempotency, audit, outbox."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from hub.extensions import db
from hub.models import AuditEvent, Job, JobEvent
from tests.support.helpers import assert_error

DEMO = {"type": "demo.sleep", "payload": {"seconds": 1}}


def _jobs_in_ledger(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Job)) or 0


def _with_tier(app, **limits):
    tiers = app.config["JOB_TIER_LIMITS"]
    app.config["JOB_TIER_LIMITS"] = {**tiers, "standard": {**tiers["standard"], **limits}}
    return tiers


def test_batch_queues_every_job_in_request_order_as_get_answers_them(app, register):
    owner = register()
    items = [{"type": "demo.sleep", "payload": {"seconds": i}} for i in range(3)]
    items[1]["notify"] = True
    resp = owner.post("/api/v1/jobs/batch", json={"jobs": items}, headers={"X-Request-ID": "req-batch"})
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body["success"] is True and body["message"] == "3 jobs queued."
    queued = body["data"]
    assert [j["payload"] for j in queued] == [i["payload"] for i in items]
    assert [j["notify"] for j in queued] == [False, True, False]
    for job in queued:
        assert job["status"] == "queued" and job["request_id"] == "req-batch"
        assert job["created_by"] == owner.user["id"] and job["tenant_id"] == owner.tenant["id"]
        assert owner.get(f"/api/v1/jobs/{job['id']}").get_json()["data"] == job
        events = owner.get(f"/api/v1/jobs/{job['id']}/events").get_json()["data"]
        assert [(e["kind"], e["status"], e["request_id"]) for e in events] == [
            ("transition", "queued", "req-batch")]
    listed = owner.get("/api/v1/jobs?per_page=10").get_json()["data"]
    assert {j["id"] for j in listed} == {j["id"] for j in queued}


def test_batch_is_audited_once_with_every_job_id(app, register):
    owner = register()
    queued = owner.post("/api/v1/jobs/batch", json={"jobs": [DEMO] * 4}).get_json()["data"]
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action.like("job.%"))).all()
    assert [e.action for e in events] == ["job.batch_created"]
    assert events[0].details["job_ids"] == [j["id"] for j in queued]
    assert events[0].details["count"] == 4 and events[0].details["types"] == ["demo.sleep"]
    assert str(events[0].actor_user_id) == owner.user["id"]


def test_one_invalid_job_refuses_the_whole_batch_with_errors_by_index(app, register):
    owner = register()
    items = [DEMO, {"type": "nope", "payload": {}}, DEMO,
             {"type": "demo.sleep", "payload": {"seconds": "ten"}},
             {"type": "webhook.deliver", "payload": {}}]
    body = assert_error(owner.post("/api/v1/jobs/batch", json={"jobs": items}), 422, "VALIDATION_ERROR")
    errors = body["details"]["fields"]["json"]["jobs"]
    assert set(errors) == {"1", "3", "4"}
    assert "type" in errors["1"] and "seconds" in errors["3"]["payload"] and "type" in errors["4"]
    assert "3 of the 5 jobs" in body["message"]
    # Shape errors (marshmallow) are under the index too.
    body = assert_error(owner.post("/api/v1/jobs/batch", json={"jobs": [DEMO, {"payload": {}}]}),
                        422, "VALIDATION_ERROR")
    assert "type" in body["details"]["fields"]["json"]["jobs"]["1"]
    assert _jobs_in_ledger(app) == 0


def test_batch_size_is_bounded_by_job_batch_max(app, register):
    owner = register()
    assert_error(owner.post("/api/v1/jobs/batch", json={"jobs": []}), 422, "VALIDATION_ERROR")
    assert_error(owner.post("/api/v1/jobs/batch", json={}), 422, "VALIDATION_ERROR")
    assert_error(owner.post("/api/v1/jobs/batch", json={"jobs": DEMO}), 422, "VALIDATION_ERROR")
    most = app.config["JOB_BATCH_MAX"]
    app.config["JOB_BATCH_MAX"] = 5
    try:
        body = assert_error(owner.post("/api/v1/jobs/batch", json={"jobs": [DEMO] * 6}),
                            422, "VALIDATION_ERROR")
        assert body["details"]["fields"]["json"]["jobs"] == ["Between 1 and 5 jobs."]
        assert owner.post("/api/v1/jobs/batch", json={"jobs": [DEMO] * 5}).status_code == 202
    finally:
        app.config["JOB_BATCH_MAX"] = most
    assert _jobs_in_ledger(app) == 5


def test_batch_over_the_tenants_rate_is_refused_whole_and_counts_nothing(app, register):
    owner = register()
    tiers = _with_tier(app, rate="5 per minute")
    try:
        assert owner.post("/api/v1/jobs/batch", json={"jobs": [DEMO] * 3}).status_code == 202
        refused = owner.post("/api/v1/jobs/batch", json={"jobs": [DEMO] * 3})
        never = owner.post("/api/v1/jobs/batch", json={"jobs": [DEMO] * 6})
        # The refused batches took nothing: the two jobs still in the window fit.
        fits = owner.post("/api/v1/jobs/batch", json={"jobs": [DEMO] * 2})
        over = owner.post("/api/v1/jobs", json=DEMO)
    finally:
        app.config["JOB_TIER_LIMITS"] = tiers
    assert_error(refused, 429, "RATE_LIMITED")
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    body = assert_error(never, 429, "RATE_LIMITED")
    assert "at most 5 at once" in body["message"]
    assert fits.status_code == 202
    assert_error(over, 429, "RATE_LIMITED")
    assert _jobs_in_ledger(app) == 5


def test_jobs_over_the_tenants_concurrency_wait_in_the_outbox(app, register):
    owner = register()
    tiers = _with_tier(app, concurrency=3)
    try:
        queued = owner.post("/api/v1/jobs/batch", json={"jobs": [DEMO] * 5}).get_json()["data"]
    finally:
        app.config["JOB_TIER_LIMITS"] = tiers
    with app.app_context():
        sent = {str(job_id): at for job_id, at in db.session.execute(
            select(Job.id, Job.dispatched_at).where(Job.id.in_([uuid.UUID(j["id"]) for j in queued])))}
    # The first three took the free slots; the last two wait for the relay.
    assert [sent[j["id"]] is not None for j in queued] == [True, True, True, False, False]
    assert all(j["status"] == "queued" for j in queued)


def test_run_at_in_a_batch_parks_only_that_job(app, register):
    owner = register()
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    later = at.isoformat().replace("+00:00", "Z")
    body = owner.post("/api/v1/jobs/batch", json={"jobs": [DEMO, {**DEMO, "run_at": later}]})
    first, parked = body.get_json()["data"]
    assert first["next_attempt_at"] is None
    with app.app_context():
        rows = {str(j.id): j for j in db.session.scalars(select(Job))}
        data = db.session.scalar(select(JobEvent.data).where(JobEvent.job_id == uuid.UUID(parked["id"])))
    assert rows[first["id"]].dispatched_at is not None
    assert rows[parked["id"]].dispatched_at is None and rows[parked["id"]].next_attempt_at is not None
    assert data == {"run_at": at.isoformat()}
    # More than a year ahead is refused, under its index, like a single create.
    far = {**DEMO, "run_at": "2999-01-01T00:00:00Z"}
    body = assert_error(owner.post("/api/v1/jobs/batch", json={"jobs": [DEMO, far]}), 422, "VALIDATION_ERROR")
    assert "run_at" in body["details"]["fields"]["json"]["jobs"]["1"]


def test_batch_idempotency_key_replays_the_first_answer(app, register):
    owner = register()
    headers = {"Idempotency-Key": "batch-1"}
    first = owner.post("/api/v1/jobs/batch", json={"jobs": [DEMO] * 2}, headers=headers)
    again = owner.post("/api/v1/jobs/batch", json={"jobs": [DEMO] * 2}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["data"] == first.get_json()["data"]
    other = owner.post("/api/v1/jobs/batch", json={"jobs": [DEMO] * 3}, headers=headers)
    assert_error(other, 409, "CONFLICT")
    assert _jobs_in_ledger(app) == 2


def test_batch_needs_authentication(client):
    assert_error(client.post("/api/v1/jobs/batch", json={"jobs": [DEMO]}), 401, "UNAUTHORIZED")
