"""The jobs API without workers: create, validate, list, cancel, retry, types, quotas."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from hub.extensions import db
from hub.models import Job, JobEvent
from tests.support.helpers import assert_error

DEMO = {"type": "demo.sleep", "payload": {"seconds": 1}}


def test_types_list_demo_with_its_payload_schema(register):
    owner = register()
    types = {t["name"]: t for t in owner.get("/api/v1/jobs/types").get_json()["data"]}
    demo = types["demo.sleep"]
    assert demo["payload_schema"]["required"] == ["seconds"]
    assert demo["retry"]["max_attempts"] == 3 and demo["creatable"] is True
    assert demo["queue"] == "default"


def test_create_returns_202_queued_job_with_request_id(app, register):
    owner = register()
    resp = owner.post("/api/v1/jobs", json=DEMO, headers={"X-Request-ID": "req-create-1"})
    assert resp.status_code == 202
    job = resp.get_json()["data"]
    assert job["status"] == "queued" and job["attempts"] == 0 and job["max_attempts"] == 3
    assert job["request_id"] == "req-create-1"
    assert job["created_by"] == owner.user["id"] and job["tenant_id"] == owner.tenant["id"]
    events = owner.get(f"/api/v1/jobs/{job['id']}/events").get_json()["data"]
    assert [(e["kind"], e["status"]) for e in events] == [("transition", "queued")]
    assert events[0]["request_id"] == "req-create-1"


def test_unknown_type_and_bad_payload_are_422(register):
    owner = register()
    body = assert_error(owner.post("/api/v1/jobs", json={"type": "nope", "payload": {}}),
                        422, "VALIDATION_ERROR")
    assert "type" in body["details"]["fields"]["json"]
    body = assert_error(owner.post("/api/v1/jobs", json={
        "type": "demo.sleep", "payload": {"seconds": "ten", "extra": 1}}), 422, "VALIDATION_ERROR")
    errors = body["details"]["fields"]["json"]["payload"]
    assert "seconds" in errors and "_schema" in errors  # wrong type, and an unknown field
    assert_error(owner.post("/api/v1/jobs", json={"type": "demo.sleep"}), 422, "VALIDATION_ERROR")
    assert_error(owner.post("/api/v1/jobs", json={**DEMO, "payload": [1]}), 422, "VALIDATION_ERROR")
    body = assert_error(owner.post("/api/v1/jobs", json={**DEMO, "notify": 1}), 422, "VALIDATION_ERROR")
    assert "notify" in body["details"]["fields"]["json"]  # a JSON boolean, not a truthy number
    assert_error(owner.post("/api/v1/jobs", json={**DEMO, "run_at": "tomorrow"}),
                 422, "VALIDATION_ERROR")
    assert_error(owner.post("/api/v1/jobs", json={**DEMO, "run_at": "2030-01-01T00:00:00"}),
                 422, "VALIDATION_ERROR")  # no time zone


def test_a_payload_field_must_have_its_documented_format(register):
    """A `"format": "uuid"` in a type's schema is checked, alone and in a batch, not only documented."""
    owner = register()
    bad = {"type": "payments.reconcile",
           "payload": {"from": "2026-01-01T00:00Z", "to": "2026-02-01T00:00Z", "reconciliation_id": ""}}
    body = assert_error(owner.post("/api/v1/jobs", json=bad), 422, "VALIDATION_ERROR")
    assert "reconciliation_id" in body["details"]["fields"]["json"]["payload"]
    body = assert_error(owner.post("/api/v1/jobs/batch", json={"jobs": [DEMO, bad]}), 422,
                        "VALIDATION_ERROR")
    assert list(body["details"]["fields"]["json"]["jobs"]) == ["1"]
    assert owner.get("/api/v1/jobs").get_json()["data"] == []  # the valid one was not queued either


def test_run_at_parks_the_job_until_then(app, register):
    owner = register()
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    job = owner.post("/api/v1/jobs", json={**DEMO, "run_at": later}).get_json()["data"]
    assert job["status"] == "queued" and job["next_attempt_at"].endswith("Z")
    with app.app_context():
        assert db.session.get(Job, uuid.UUID(job["id"])).dispatched_at is None


def test_list_filters_paginates_newest_first(register):
    owner = register()
    ids = [owner.post("/api/v1/jobs", json=DEMO).get_json()["data"]["id"] for _ in range(3)]
    owner.post(f"/api/v1/jobs/{ids[0]}/cancel")
    page = owner.get("/api/v1/jobs?per_page=2").get_json()
    assert [j["id"] for j in page["data"]] == [ids[2], ids[1]]
    assert page["meta"]["pagination"]["total"] == 3
    cancelled = owner.get("/api/v1/jobs?status=cancelled").get_json()["data"]
    assert [j["id"] for j in cancelled] == [ids[0]]
    assert owner.get("/api/v1/jobs?type=other").get_json()["data"] == []
    future = (datetime.now(UTC) + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    assert owner.get(f"/api/v1/jobs?created_after={future}").get_json()["data"] == []
    assert len(owner.get(f"/api/v1/jobs?created_before={future}").get_json()["data"]) == 3
    assert_error(owner.get("/api/v1/jobs?status=weird"), 422, "VALIDATION_ERROR")


def test_another_tenants_job_is_404_everywhere(register):
    a, b = register(), register()
    job_id = a.post("/api/v1/jobs", json=DEMO).get_json()["data"]["id"]
    for call in (b.get(f"/api/v1/jobs/{job_id}"), b.get(f"/api/v1/jobs/{job_id}/events"),
                 b.post(f"/api/v1/jobs/{job_id}/cancel"), b.post(f"/api/v1/jobs/{job_id}/retry")):
        assert_error(call, 404, "NOT_FOUND")
    assert b.get("/api/v1/jobs").get_json()["data"] == []
    assert a.get(f"/api/v1/jobs/{job_id}").get_json()["data"]["status"] == "queued"


def test_staff_see_every_tenant_members_do_not(app, register):
    from hub.models import User

    a, staff = register(), register()
    job_id = a.post("/api/v1/jobs", json=DEMO).get_json()["data"]["id"]
    assert_error(staff.get("/api/v1/jobs?all_tenants=true"), 403, "FORBIDDEN")
    with app.app_context():
        db.session.get(User, uuid.UUID(staff.user["id"])).is_staff = True
        db.session.commit()
    assert staff.get(f"/api/v1/jobs/{job_id}").status_code == 200
    listed = staff.get("/api/v1/jobs?all_tenants=true").get_json()["data"]
    assert job_id in [j["id"] for j in listed]


def test_cancel_queued_job_then_conflict_on_second_cancel(register):
    owner = register()
    job_id = owner.post("/api/v1/jobs", json=DEMO).get_json()["data"]["id"]
    resp = owner.post(f"/api/v1/jobs/{job_id}/cancel")
    assert resp.status_code == 200 and resp.get_json()["data"]["status"] == "cancelled"
    assert resp.get_json()["data"]["finished_at"]
    assert_error(owner.post(f"/api/v1/jobs/{job_id}/cancel"), 409, "CONFLICT")


def test_retry_only_failed_or_cancelled(register):
    owner = register()
    job_id = owner.post("/api/v1/jobs", json=DEMO).get_json()["data"]["id"]
    assert_error(owner.post(f"/api/v1/jobs/{job_id}/retry"), 409, "CONFLICT")
    owner.post(f"/api/v1/jobs/{job_id}/cancel")
    again = owner.post(f"/api/v1/jobs/{job_id}/retry")
    assert again.status_code == 202
    data = again.get_json()["data"]
    assert data["status"] == "queued" and data["finished_at"] is None


def test_same_idempotency_key_gives_one_job(app, register):
    owner = register()
    headers = {"Idempotency-Key": "order-42"}
    first = owner.post("/api/v1/jobs", json=DEMO, headers=headers)
    second = owner.post("/api/v1/jobs", json={"payload": {"seconds": 1}, "type": "demo.sleep"},
                        headers=headers)
    assert first.status_code == second.status_code == 202
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["data"]["id"] == second.get_json()["data"]["id"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == 1
    conflict = owner.post("/api/v1/jobs", json={**DEMO, "payload": {"seconds": 2}}, headers=headers)
    assert_error(conflict, 409, "CONFLICT")


def test_idempotency_keys_are_per_tenant_and_failures_release_them(app, register):
    a, b = register(), register()
    headers = {"Idempotency-Key": "shared-key"}
    assert a.post("/api/v1/jobs", json=DEMO, headers=headers).status_code == 202
    assert b.post("/api/v1/jobs", json=DEMO, headers=headers).status_code == 202
    bad = a.post("/api/v1/jobs", json={"type": "nope"}, headers={"Idempotency-Key": "k2"})
    assert bad.status_code == 422
    good = a.post("/api/v1/jobs", json={"type": "nope"}, headers={"Idempotency-Key": "k2"})
    assert good.status_code == 422  # not a replay of a stored answer: it was never stored
    assert "Idempotent-Replayed" not in good.headers
    assert_error(a.post("/api/v1/jobs", json=DEMO, headers={"Idempotency-Key": " "}),
                 422, "VALIDATION_ERROR")


def test_tenant_job_rate_limit_is_429_with_retry_after(app, register):
    owner = register()
    tiers = app.config["JOB_TIER_LIMITS"]
    app.config["JOB_TIER_LIMITS"] = {**tiers, "standard": {"rate": "3 per minute", "concurrency": 5}}
    try:
        codes = [owner.post("/api/v1/jobs", json=DEMO).status_code for _ in range(3)]
        limited = owner.post("/api/v1/jobs", json=DEMO)
        other = register().post("/api/v1/jobs", json=DEMO)
    finally:
        app.config["JOB_TIER_LIMITS"] = tiers
    assert codes == [202, 202, 202]
    assert_error(limited, 429, "RATE_LIMITED")
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert other.status_code == 202  # another tenant has its own budget


def test_job_events_are_ordered_and_tenant_scoped(app, register):
    owner = register()
    job_id = owner.post("/api/v1/jobs", json=DEMO).get_json()["data"]["id"]
    owner.post(f"/api/v1/jobs/{job_id}/cancel")
    owner.post(f"/api/v1/jobs/{job_id}/retry")
    events = owner.get(f"/api/v1/jobs/{job_id}/events").get_json()["data"]
    assert [e["status"] for e in events] == ["queued", "cancelled", "queued"]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(JobEvent)) == 3
