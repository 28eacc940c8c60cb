"""Connections over the API: validation against the connector's schemas, credentials encrypted
and never shown, roles, tenant scoping, audit, and who may start a sync."""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from hub.extensions import db
from hub.models import AuditEvent, Connection, Job, utcnow
from tests.support.helpers import assert_error
from tests.sync.conftest import create_connection

URL = "http://127.0.0.1:9/items"


def test_connectors_lists_the_builtin_plugins_with_their_schemas(register):
    owner = register()
    resp = owner.get("/api/v1/connectors")
    assert resp.status_code == 200
    found = {c["name"]: c for c in resp.get_json()["data"]}
    assert {"rest", "stripe_customers"} <= set(found)
    assert found["rest"]["config_schema"]["required"] == ["url"]
    assert found["stripe_customers"]["credentials_schema"]["required"] == ["api_key"]


def test_create_stores_credentials_encrypted_and_never_returns_them(app, register):
    owner = register()
    resp = owner.post("/api/v1/connections", json={
        "connector": "rest", "name": "Shop", "config": {"url": URL, "items_path": "data"},
        "credentials": {"token": "sk-very-secret-token"},
        "schedule": {"interval_seconds": 3600}})
    assert resp.status_code == 201, resp.get_json()
    created = resp.get_json()["data"]
    assert "credentials" not in created and created["has_credentials"] is True
    assert created["schedule"] == {"interval_seconds": 3600} and created["status"] == "ok"
    assert created["next_sync_at"] is not None
    for path in ("/api/v1/connections", f"/api/v1/connections/{created['id']}"):
        assert "sk-very-secret-token" not in owner.get(path).get_data(as_text=True)
    with app.app_context():
        row = db.session.get(Connection, uuid.UUID(created["id"]))
        assert "sk-very-secret-token" not in row.credentials_encrypted
        from hub.services.sync.connections import credentials_of
        assert credentials_of(row) == {"token": "sk-very-secret-token"}
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "connection.created" in actions
        assert all("sk-very-secret" not in str(e.details) for e in db.session.scalars(select(AuditEvent)))


def test_bad_config_and_credentials_are_422_with_fields_without_echoing_secrets(register):
    owner = register()
    resp = owner.post("/api/v1/connections", json={
        "connector": "rest", "name": "Bad", "config": {"items_path": 5, "pagination": "sideways"},
        "credentials": {"token": 12345678, "extra": "hunter2-secret"}})
    body = assert_error(resp, 422, "VALIDATION_ERROR")
    fields = body["details"]["fields"]["json"]
    assert "items_path" in fields["config"] and "pagination" in fields["config"]
    assert "_schema" in fields["config"]  # url is required
    assert "hunter2-secret" not in resp.get_data(as_text=True)
    assert "12345678" not in resp.get_data(as_text=True)
    assert_error(owner.post("/api/v1/connections", json={"connector": "nope", "name": "x"}),
                 422, "VALIDATION_ERROR")
    bad_schedule = owner.post("/api/v1/connections", json={
        "connector": "rest", "name": "x", "config": {"url": URL}, "schedule": {"cron": "every day"}})
    assert assert_error(bad_schedule, 422, "VALIDATION_ERROR")["details"]["fields"]["json"]["schedule"]
    too_often = owner.post("/api/v1/connections", json={
        "connector": "rest", "name": "x", "config": {"url": URL}, "schedule": {"interval_seconds": 5}})
    assert_error(too_often, 422, "VALIDATION_ERROR")


def test_refused_url_is_422(app, register):
    owner = register()
    app.config["OUTBOUND_ALLOW_PRIVATE"] = False
    try:
        resp = owner.post("/api/v1/connections", json={"connector": "rest", "name": "x",
                                                        "config": {"url": "http://169.254.169.254/x"}})
    finally:
        app.config["OUTBOUND_ALLOW_PRIVATE"] = None
    body = assert_error(resp, 422, "VALIDATION_ERROR")
    assert "url" in body["details"]["fields"]["json"]["config"]


def test_members_read_admins_manage_and_other_tenants_get_404(register, add_user):
    owner, stranger = register(), register()
    member = add_user(owner, "member")
    conn = create_connection(owner, URL)
    assert member.get(f"/api/v1/connections/{conn['id']}").status_code == 200
    assert_error(member.post("/api/v1/connections", json={"connector": "rest", "name": "m",
                                                          "config": {"url": URL}}), 403, "FORBIDDEN")
    assert_error(member.post(f"/api/v1/connections/{conn['id']}/sync"), 403, "FORBIDDEN")
    assert_error(member.delete(f"/api/v1/connections/{conn['id']}"), 403, "FORBIDDEN")
    for call in (stranger.get, stranger.delete):
        assert_error(call(f"/api/v1/connections/{conn['id']}"), 404, "NOT_FOUND")
    assert_error(stranger.get(f"/api/v1/connections/{conn['id']}/records"), 404, "NOT_FOUND")
    assert stranger.get("/api/v1/connections").get_json()["data"] == []


def test_patch_validates_and_new_credentials_clear_needs_attention(app, register):
    owner = register()
    conn = create_connection(owner, URL)
    bad = owner.patch(f"/api/v1/connections/{conn['id']}", json={"config": {"url": 3}})
    assert_error(bad, 422, "VALIDATION_ERROR")
    with app.app_context():
        row = db.session.get(Connection, uuid.UUID(conn["id"]))
        row.status, row.status_reason = "needs_attention", "HTTP 401"
        db.session.commit()
    resp = owner.patch(f"/api/v1/connections/{conn['id']}",
                       json={"credentials": {"token": "new"}, "schedule": {"cron": "*/15 * * * *"}})
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()["data"]
    assert data["status"] == "ok" and data["status_reason"] is None
    assert data["schedule"] == {"cron": "*/15 * * * *"}
    assert owner.delete(f"/api/v1/connections/{conn['id']}").status_code == 200
    assert_error(owner.get(f"/api/v1/connections/{conn['id']}"), 404, "NOT_FOUND")


def test_second_sync_while_one_is_queued_is_409_and_idempotency_key_replays(app, register):
    owner = register()
    conn = create_connection(owner, URL)
    first = owner.post(f"/api/v1/connections/{conn['id']}/sync", headers={"Idempotency-Key": "s-1"})
    assert first.status_code == 202 and first.get_json()["data"]["type"] == "sync.run"
    again = owner.post(f"/api/v1/connections/{conn['id']}/sync", headers={"Idempotency-Key": "s-1"})
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["data"]["id"] == first.get_json()["data"]["id"]
    body = assert_error(owner.post(f"/api/v1/connections/{conn['id']}/sync"), 409, "CONFLICT")
    assert body["details"]["job_id"] == first.get_json()["data"]["id"]
    with app.app_context():
        assert len(db.session.scalars(select(Job)).all()) == 1


def test_sync_paused_refuses_manual_syncs_and_schedules_queue_nothing(app, register):
    from hub.services.sync import connections

    owner = register()
    conn = create_connection(owner, URL, schedule={"interval_seconds": 60})
    app.config["SYNC_PAUSED"] = True
    try:
        assert_error(owner.post(f"/api/v1/connections/{conn['id']}/sync"), 409, "CONFLICT")
        with app.app_context():
            assert connections.enqueue_due() == 0
    finally:
        app.config["SYNC_PAUSED"] = False


def test_beat_queues_due_connections_once_and_moves_their_next_time(app, register):
    from hub.services.sync import connections

    owner = register()
    due = create_connection(owner, URL, schedule={"interval_seconds": 600})
    cron = create_connection(owner, URL, schedule={"cron": "0 3 * * *"})
    manual = create_connection(owner, URL)
    with app.app_context():
        assert connections.enqueue_due() == 1
        assert connections.enqueue_due() == 0  # not due again yet
        row = db.session.get(Connection, uuid.UUID(due["id"]))
        assert row.next_sync_at > utcnow() + timedelta(seconds=590)
        (job,) = db.session.scalars(select(Job)).all()
        assert job.payload == {"connection_id": due["id"], "trigger": "schedule"}
        cron_row = db.session.get(Connection, uuid.UUID(cron["id"]))
        assert cron_row.next_sync_at.hour == 3 and cron_row.next_sync_at.minute == 0
        # Due while the previous sync is still queued: skipped, not doubled.
        row.next_sync_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert connections.enqueue_due() == 0
        assert db.session.get(Connection, uuid.UUID(manual["id"])).next_sync_at is None
