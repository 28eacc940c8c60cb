"""The operator's view: staff search every tenant's jobs, see failures grouped and stuck
jobs, and retry or cancel by filter after a dry run; others get 403."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.models import AuditEvent, Job, utcnow
from tests.support.helpers import assert_error


def queue(account, n: int = 1, **payload) -> list[str]:
    ids = []
    for _ in range(n):
        resp = account.post("/api/v1/jobs", json={"type": "demo.sleep",
                                                  "payload": {"seconds": 0, **payload}})
        assert resp.status_code == 202, resp.get_json()
        ids.append(resp.get_json()["data"]["id"])
    return ids


def set_jobs(app, ids: list[str], **fields) -> None:
    with app.app_context():
        for job_id in ids:
            job = db.session.get(Job, uuid.UUID(job_id))
            for name, value in fields.items():
                setattr(job, name, value)
        db.session.commit()


def fail(app, ids: list[str], code: str) -> None:
    set_jobs(app, ids, status="failed", error={"code": code, "message": "it broke"},
             finished_at=utcnow(), dispatched_at=None)


def data(resp, status: int = 200):
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()["data"]


def test_only_staff_may_look_or_act(register, client):
    owner = register()
    assert_error(owner.get("/api/v1/operations/jobs"), 403, "FORBIDDEN")
    assert_error(owner.get("/api/v1/operations/failed-jobs"), 403, "FORBIDDEN")
    assert_error(owner.get("/api/v1/operations/stuck-jobs"), 403, "FORBIDDEN")
    assert_error(owner.post("/api/v1/operations/jobs/retry", json={}), 403, "FORBIDDEN")
    assert_error(client.get("/api/v1/operations/jobs"), 401, "UNAUTHORIZED")


def test_staff_search_every_tenant_by_tenant_type_status_error_and_payload(app, register, staff):
    alice, bob = register(), register()
    a_failed = queue(alice, 2, fail_times=1)
    a_queued = queue(alice, 1)
    b_failed = queue(bob, 1, fail_times=2)
    fail(app, a_failed, "DEMO_FAILURE")
    fail(app, b_failed, "SMTP_REJECTED")

    def ids(query: str) -> set[str]:
        return {job["id"] for job in data(staff.get("/api/v1/operations/jobs?per_page=100&" + query))}

    assert ids("") >= {*a_failed, *a_queued, *b_failed}
    assert ids(f"tenant_id={alice.tenant['id']}") == {*a_failed, *a_queued}
    assert ids("status=failed") == {*a_failed, *b_failed}
    assert ids("error_code=SMTP_REJECTED") == set(b_failed)
    assert ids("payload=fail_times") == {*a_failed, *b_failed}
    assert ids("payload=fail_times%3D2") == set(b_failed)
    assert ids("type=email.send") == set()
    later = (utcnow() + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"created_after={later}") == set()
    job = data(staff.get(f"/api/v1/operations/jobs?tenant_id={bob.tenant['id']}"))[0]
    assert job["tenant_id"] == bob.tenant["id"] and job["queue"] == "default"
    assert "dispatched_at" in job and "worker" in job
    assert_error(staff.get("/api/v1/operations/jobs?payload=%3D2"), 422, "VALIDATION_ERROR")
    assert_error(staff.get("/api/v1/operations/jobs?status=lost"), 422, "VALIDATION_ERROR")


def test_failed_jobs_are_grouped_by_type_and_error_code(app, register, staff):
    alice, bob = register(), register()
    fail(app, queue(alice, 2), "DEMO_FAILURE")
    fail(app, queue(bob, 1), "DEMO_FAILURE")
    fail(app, queue(bob, 1), "OTHER")
    queue(bob, 1)  # not failed: not counted
    groups = data(staff.get("/api/v1/operations/failed-jobs"))
    assert [(g["type"], g["error_code"], g["count"], g["tenants"]) for g in groups] == [
        ("demo.sleep", "DEMO_FAILURE", 3, 2), ("demo.sleep", "OTHER", 1, 1)]
    mine = data(staff.get(f"/api/v1/operations/failed-jobs?tenant_id={alice.tenant['id']}"))
    assert [(g["error_code"], g["count"]) for g in mine] == [("DEMO_FAILURE", 2)]


def test_stuck_jobs_are_those_sent_long_ago_and_never_started_or_past_their_lease(app, register, staff):
    owner = register()
    lost, running_dead, fresh = queue(owner, 3)
    set_jobs(app, [lost], dispatched_at=utcnow() - timedelta(minutes=30))
    set_jobs(app, [running_dead], status="running", started_at=utcnow() - timedelta(minutes=5),
             lease_expires_at=utcnow() - timedelta(minutes=1), worker="w1@host")
    set_jobs(app, [fresh], dispatched_at=utcnow())
    stuck = data(staff.get("/api/v1/operations/stuck-jobs"))
    assert {(s["job"]["id"], s["reason"]) for s in stuck} == {(lost, "not_started"),
                                                              (running_dead, "lease_expired")}
    assert all(s["stuck_seconds"] >= 55 for s in stuck)
    # A shorter threshold finds the job just sent, too.
    set_jobs(app, [fresh], dispatched_at=utcnow() - timedelta(seconds=5))
    assert fresh in {s["job"]["id"] for s in data(staff.get(
        "/api/v1/operations/stuck-jobs?not_started_seconds=1"))}


def test_bulk_retry_counts_first_then_retries_exactly_that_set_and_audits_it(app, register, staff):
    alice, bob = register(), register()
    failed = queue(alice, 2) + queue(bob, 1)
    fail(app, failed, "DEMO_FAILURE")
    fail(app, queue(bob, 1), "OTHER")
    body = {"filter": {"error_code": "DEMO_FAILURE"}}
    dry = data(staff.post("/api/v1/operations/jobs/retry", json=body))
    assert (dry["dry_run"], dry["matched"], dry["selected"], dry["done"]) == (True, 3, 3, 0)
    with app.app_context():
        assert db.session.scalar(select(Job.status).where(Job.id == uuid.UUID(failed[0]))) == "failed"
    # The real run must name the count it saw; a count that no longer holds is a 409.
    assert_error(staff.post("/api/v1/operations/jobs/retry", json={**body, "dry_run": False}),
                 422, "VALIDATION_ERROR")
    assert_error(staff.post("/api/v1/operations/jobs/retry",
                            json={**body, "dry_run": False, "expected": 2}), 409, "CONFLICT")
    done = data(staff.post("/api/v1/operations/jobs/retry", json={**body, "dry_run": False,
                                                                 "expected": 3}))
    assert (done["done"], done["skipped"]) == (3, 0)
    for job_id in failed:
        job = data(staff.get("/api/v1/operations/jobs?per_page=100"))
        job = next(j for j in job if j["id"] == job_id)
        assert job["status"] == "queued" and job["error"] is None and job["dispatched_at"]
    with app.app_context():
        actions = [(e.tenant_id, e.action) for e in db.session.scalars(select(AuditEvent))]
    assert actions.count((uuid.UUID(alice.tenant["id"]), "job.retried")) == 2
    assert actions.count((uuid.UUID(bob.tenant["id"]), "job.retried")) == 1
    assert (uuid.UUID(staff.tenant["id"]), "jobs.bulk_retried") in actions
    # Nothing left to retry with that code.
    assert data(staff.post("/api/v1/operations/jobs/retry", json=body))["matched"] == 0


def test_bulk_actions_take_at_most_ops_bulk_max_oldest_first(app, register, staff):
    owner = register()
    failed = queue(owner, 3)
    fail(app, failed, "DEMO_FAILURE")
    app.config["OPS_BULK_MAX"] = 2
    try:
        dry = data(staff.post("/api/v1/operations/jobs/retry", json={}))
        assert (dry["matched"], dry["selected"], dry["max"]) == (3, 2, 2)
        done = data(staff.post("/api/v1/operations/jobs/retry", json={"dry_run": False, "expected": 2}))
        assert done["done"] == 2
    finally:
        app.config["OPS_BULK_MAX"] = 500
    statuses = {j["id"]: j["status"] for j in data(staff.get("/api/v1/operations/jobs?per_page=100"))}
    assert [statuses[j] for j in failed] == ["queued", "queued", "failed"]


def test_bulk_cancel_takes_unfinished_jobs_only(app, register, staff):
    owner = register()
    waiting = queue(owner, 2)
    body = {"filter": {"tenant_id": owner.tenant["id"]}, "dry_run": False, "expected": 2}
    assert data(staff.post("/api/v1/operations/jobs/cancel", json=body))["done"] == 2
    assert {j["status"] for j in data(staff.get(
        f"/api/v1/operations/jobs?tenant_id={owner.tenant['id']}"))} == {"cancelled"}
    assert waiting
    resp = staff.post("/api/v1/operations/jobs/cancel", json={"filter": {"status": ["succeeded"]}})
    assert_error(resp, 422, "VALIDATION_ERROR")


@pytest.fixture
def tight_bulk_limit(app):
    app.config["OPS_BULK_RATE_LIMIT"] = "2 per minute"
    yield
    app.config["OPS_BULK_RATE_LIMIT"] = "10 per minute"


def test_bulk_calls_are_rate_limited(staff, tight_bulk_limit):
    for _ in range(2):
        assert staff.post("/api/v1/operations/jobs/retry", json={}).status_code == 200
    resp = staff.post("/api/v1/operations/jobs/retry", json={})
    assert_error(resp, 429, "RATE_LIMITED")
    assert resp.headers.get("Retry-After")
