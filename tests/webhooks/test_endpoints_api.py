"""Webhook endpoints through the API: secrets, validation, SSRF, roles, tenants, audit,
and which endpoints an event queues deliveries for (no worker needed here)."""
from __future__ import annotations

import base64
import uuid

import pytest
from sqlalchemy import func, select

from hub.extensions import db
from hub.models import Job, WebhookDelivery, WebhookEndpoint
from hub.services import encryption
from tests.support.helpers import assert_error
from tests.webhooks.conftest import create_endpoint, deliveries, publish

BASE = "/api/v1/webhook-endpoints"
HOOK = "http://127.0.0.1:9/hook"  # loopback, allowed in testing; nothing is sent in this module


@pytest.fixture
def private_off(app):
    """OUTBOUND_ALLOW_PRIVATE off, as in production."""
    app.config["OUTBOUND_ALLOW_PRIVATE"] = False
    try:
        yield
    finally:
        app.config["OUTBOUND_ALLOW_PRIVATE"] = None


def test_secret_is_shown_once_and_stored_encrypted(app, register):
    owner = register()
    created = create_endpoint(owner, HOOK, ["job.succeeded", "invoice.paid"], description="CRM")
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
    assert created["events"] == ["job.succeeded", "invoice.paid"] and created["enabled"] is True
    for resp in (owner.get(f"{BASE}/{created['id']}"), owner.get(BASE),
                 owner.patch(f"{BASE}/{created['id']}", json={"description": "CRM 2"})):
        assert resp.status_code == 200
        assert "secret" not in resp.get_data(as_text=True).lower().replace("previous_secret", "")
    with app.app_context():
        row = db.session.get(WebhookEndpoint, uuid.UUID(created["id"]))
        assert secret not in row.secret_encrypted and secret[6:] not in row.secret_encrypted
        assert encryption.decrypt(row.secret_encrypted) == secret


def test_list_is_paginated_newest_first(register):
    owner = register()
    ids = [create_endpoint(owner, HOOK + str(i), ["job.failed"])["id"] for i in range(3)]
    body = owner.get(f"{BASE}?per_page=2").get_json()
    assert [e["id"] for e in body["data"]] == ids[::-1][:2]
    assert body["meta"]["pagination"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2}


@pytest.mark.parametrize("payload, field", [
    ({"url": HOOK, "events": []}, "events"),
    ({"url": HOOK, "events": ["job.exploded"]}, "events"),
    ({"url": HOOK, "events": ["job.failed", "job.failed"]}, "events"),
    ({"url": "ftp://example.com/x", "events": ["job.failed"]}, "url"),
    ({"url": "not a url", "events": ["job.failed"]}, "url"),
    ({"events": ["job.failed"]}, "url"),
    ({"url": HOOK, "events": ["job.failed"], "description": "x" * 501}, "description"),
])
def test_invalid_endpoint_is_422_naming_the_field(register, payload, field):
    body = assert_error(register().post(BASE, json=payload), 422, "VALIDATION_ERROR")
    assert field in body["details"]["fields"]["json"]


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://10.0.0.1/", "http://169.254.169.254/",
                                 "http://[::1]/", "http://localhost:8080/hook", "https://[fd00:ec2::254]/",
                                 "http://192.168.0.10/x"])
def test_internal_urls_are_refused_when_private_is_off(register, private_off, url):
    body = assert_error(register().post(BASE, json={"url": url, "events": ["job.failed"]}),
                        422, "VALIDATION_ERROR")
    (reason,) = body["details"]["fields"]["json"]["url"]
    assert "not allowed" in reason or "refused" in reason


def test_update_to_an_internal_url_is_refused_too(register, private_off):
    owner = register()
    endpoint = create_endpoint(owner, "https://93.184.216.34/hook", ["job.failed"])  # a public literal
    resp = owner.patch(f"{BASE}/{endpoint['id']}", json={"url": "http://127.0.0.1:5000/"})
    assert_error(resp, 422, "VALIDATION_ERROR")
    assert owner.get(f"{BASE}/{endpoint['id']}").get_json()["data"]["url"] == "https://93.184.216.34/hook"


def test_metadata_address_is_refused_even_with_private_allowed(register):
    resp = register().post(BASE, json={"url": "http://169.254.169.254/latest", "events": ["job.failed"]})
    assert_error(resp, 422, "VALIDATION_ERROR")


def test_members_cannot_manage_or_read_endpoints(register, add_user):
    owner = register()
    endpoint = create_endpoint(owner, HOOK, ["job.failed"])
    member = add_user(owner, "member")
    assert_error(member.get(BASE), 403, "FORBIDDEN")
    assert_error(member.post(BASE, json={"url": HOOK, "events": ["job.failed"]}), 403, "FORBIDDEN")
    assert_error(member.get(f"{BASE}/{endpoint['id']}/deliveries"), 403, "FORBIDDEN")
    admin = add_user(owner, "admin")
    assert admin.get(f"{BASE}/{endpoint['id']}").status_code == 200


def test_another_tenants_endpoint_and_delivery_are_404(app, register):
    alice, bob = register(), register()
    endpoint = create_endpoint(alice, HOOK, ["invoice.paid"])
    publish(app, alice.tenant["id"], "invoice.paid", {"invoice_id": "inv_1"})
    (delivery,) = deliveries(alice, endpoint["id"])
    for resp in (bob.get(f"{BASE}/{endpoint['id']}"),
                 bob.patch(f"{BASE}/{endpoint['id']}", json={"enabled": False}),
                 bob.delete(f"{BASE}/{endpoint['id']}"),
                 bob.post(f"{BASE}/{endpoint['id']}/rotate-secret"),
                 bob.get(f"{BASE}/{endpoint['id']}/deliveries"),
                 bob.get(f"/api/v1/webhook-deliveries/{delivery['id']}"),
                 bob.post(f"/api/v1/webhook-deliveries/{delivery['id']}/replay")):
        assert_error(resp, 404, "NOT_FOUND")
    assert alice.get(f"{BASE}/{endpoint['id']}").get_json()["data"]["enabled"] is True


def test_changes_are_audited_without_secrets(register):
    owner = register()
    endpoint = create_endpoint(owner, HOOK, ["job.failed"])
    owner.patch(f"{BASE}/{endpoint['id']}", json={"enabled": False, "events": ["job.succeeded"]})
    rotated = owner.post(f"{BASE}/{endpoint['id']}/rotate-secret").get_json()["data"]
    assert owner.delete(f"{BASE}/{endpoint['id']}").status_code == 200
    resp = owner.get("/api/v1/audit-events?object_type=webhook_endpoint&per_page=50")
    actions = [e["action"] for e in resp.get_json()["data"]]
    assert sorted(actions) == sorted(["webhook_endpoint.created", "webhook_endpoint.updated",
                                      "webhook_endpoint.secret_rotated", "webhook_endpoint.deleted"])
    text = resp.get_data(as_text=True)
    assert endpoint["secret"] not in text and rotated["secret"] not in text


def test_disable_and_enable_by_a_user(register):
    owner = register()
    endpoint = create_endpoint(owner, HOOK, ["job.failed"])
    off = owner.patch(f"{BASE}/{endpoint['id']}", json={"enabled": False}).get_json()["data"]
    assert off["enabled"] is False and off["disabled_reason"] == "disabled by a user" and off["disabled_at"]
    on = owner.patch(f"{BASE}/{endpoint['id']}", json={"enabled": True}).get_json()["data"]
    assert on["enabled"] is True and on["disabled_reason"] is None and on["disabled_at"] is None
    assert_error(owner.patch(f"{BASE}/{endpoint['id']}", json={}), 422, "VALIDATION_ERROR")


def test_rotation_returns_a_new_secret_and_keeps_the_old_one_for_the_grace_period(app, register):
    owner = register()
    endpoint = create_endpoint(owner, HOOK, ["job.failed"])
    rotated = owner.post(f"{BASE}/{endpoint['id']}/rotate-secret")
    assert rotated.status_code == 200
    data = rotated.get_json()["data"]
    assert data["secret"].startswith("whsec_") and data["secret"] != endpoint["secret"]
    assert data["previous_secret_expires_at"].endswith("Z")
    from hub.services.webhooks import signing_secrets

    with app.app_context():
        row = db.session.get(WebhookEndpoint, uuid.UUID(endpoint["id"]))
        assert signing_secrets(row) == [data["secret"], endpoint["secret"]]


def test_event_queues_deliveries_only_for_enabled_subscribed_endpoints_of_its_tenant(app, register):
    alice, bob = register(), register()
    wanted = create_endpoint(alice, HOOK + "/a", ["file.processed", "job.failed"])
    create_endpoint(alice, HOOK + "/b", ["invoice.paid"])
    create_endpoint(alice, HOOK + "/c", ["file.processed"], enabled=False)
    create_endpoint(bob, HOOK + "/d", ["file.processed"])
    publish(app, alice.tenant["id"], "file.processed", {"file_id": "f1", "request_id": "corr-77"})
    with app.app_context():
        rows = db.session.scalars(select(WebhookDelivery)).all()
        assert [str(r.endpoint_id) for r in rows] == [wanted["id"]]
        job = db.session.get(Job, rows[0].job_id)
        assert (job.type, job.queue, job.status, job.max_attempts) == ("webhook.deliver", "webhooks",
                                                                       "queued", 8)
        assert job.request_id == "corr-77" and rows[0].request_id == "corr-77"
    (delivery,) = deliveries(alice, wanted["id"])
    assert delivery["status"] == "pending" and delivery["event_type"] == "file.processed"
    assert delivery["webhook_id"] == "msg_" + uuid.UUID(delivery["id"]).hex
    assert delivery["payload"]["type"] == "file.processed"
    assert delivery["payload"]["data"] == {"file_id": "f1", "request_id": "corr-77"}
    assert delivery["payload"]["timestamp"].endswith("Z") and delivery["attempts"] == []


def test_a_webhook_jobs_own_outcome_queues_nothing(app, register):
    owner = register()
    create_endpoint(owner, HOOK, ["job.succeeded", "job.failed"])
    for event in ("job.succeeded", "job.failed"):
        publish(app, owner.tenant["id"], event, {"id": str(uuid.uuid4()), "type": "webhook.deliver"})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    publish(app, owner.tenant["id"], "job.failed", {"id": str(uuid.uuid4()), "type": "demo.sleep"})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1


def test_send_test_queues_one_webhook_test_delivery_to_that_endpoint_only(app, register, add_user):
    owner = register()
    tested = create_endpoint(owner, HOOK + "/tested", ["invoice.paid"])
    other = create_endpoint(owner, HOOK + "/other", ["invoice.paid", "job.failed"])
    resp = owner.post(f"{BASE}/{tested['id']}/test")
    assert resp.status_code == 202, resp.get_json()
    delivery = resp.get_json()["data"]
    assert resp.get_json()["message"] == "Test delivery queued."
    assert delivery["event_type"] == "webhook.test" and delivery["status"] == "pending"
    assert delivery["endpoint_id"] == tested["id"]
    assert delivery["payload"]["type"] == "webhook.test"
    assert delivery["payload"]["data"]["endpoint_id"] == tested["id"]
    assert [d["id"] for d in deliveries(owner, tested["id"])] == [delivery["id"]]
    assert deliveries(owner, other["id"]) == []
    with app.app_context():
        job = db.session.get(Job, uuid.UUID(delivery["job_id"]))
        assert (job.type, job.status) == ("webhook.deliver", "queued")
    audit = owner.get("/api/v1/audit-events?action=webhook_endpoint.tested").get_json()["data"]
    assert [a["object_id"] for a in audit] == [tested["id"]]

    owner.patch(f"{BASE}/{other['id']}", json={"enabled": False})
    assert_error(owner.post(f"{BASE}/{other['id']}/test"), 409, "CONFLICT")
    member = add_user(owner, role="member")
    assert_error(member.post(f"{BASE}/{tested['id']}/test"), 403, "FORBIDDEN")
    assert_error(register().post(f"{BASE}/{tested['id']}/test"), 404, "NOT_FOUND")


def test_replay_is_409_while_the_delivery_is_still_being_sent(app, register):
    owner = register()
    endpoint = create_endpoint(owner, HOOK, ["invoice.paid"])
    publish(app, owner.tenant["id"], "invoice.paid", {"invoice_id": "inv_2"})
    (delivery,) = deliveries(owner, endpoint["id"])
    assert_error(owner.post(f"/api/v1/webhook-deliveries/{delivery['id']}/replay"), 409, "CONFLICT")


def test_replay_to_a_disabled_endpoint_is_409(app, register):
    owner = register()
    endpoint = create_endpoint(owner, HOOK, ["invoice.paid"])
    publish(app, owner.tenant["id"], "invoice.paid", {"invoice_id": "inv_3"})
    (delivery,) = deliveries(owner, endpoint["id"])
    owner.patch(f"{BASE}/{endpoint['id']}", json={"enabled": False})
    resp = owner.post(f"/api/v1/webhook-deliveries/{delivery['id']}/replay")
    assert_error(resp, 409, "CONFLICT")


def test_deleting_an_endpoint_deletes_its_delivery_log(app, register):
    owner = register()
    endpoint = create_endpoint(owner, HOOK, ["invoice.paid"])
    publish(app, owner.tenant["id"], "invoice.paid", {"invoice_id": "inv_4"})
    (delivery,) = deliveries(owner, endpoint["id"])
    assert owner.delete(f"{BASE}/{endpoint['id']}").status_code == 200
    assert_error(owner.get(f"{BASE}/{endpoint['id']}"), 404, "NOT_FOUND")
    assert_error(owner.get(f"/api/v1/webhook-deliveries/{delivery['id']}"), 404, "NOT_FOUND")


def test_webhook_deliver_is_listed_but_not_creatable(register):
    owner = register()
    types = {t["name"]: t for t in owner.get("/api/v1/jobs/types").get_json()["data"]}
    assert types["webhook.deliver"]["creatable"] is False
    assert types["webhook.deliver"]["queue"] == "webhooks"
    assert types["webhook.deliver"]["retry"]["schedule"] == [5, 300, 1800, 7200, 18000, 36000, 36000]
    resp = owner.post("/api/v1/jobs", json={"type": "webhook.deliver",
                                             "payload": {"delivery_id": str(uuid.uuid4())}})
    assert_error(resp, 422, "VALIDATION_ERROR")


def test_rotate_encryption_command_re_encrypts_with_the_new_first_key(app, register):
    from hub.integrations.crypto import SecretBox, generate_key

    owner = register()
    endpoint = create_endpoint(owner, HOOK, ["job.failed"])
    with app.app_context():
        old_key = encryption.configured_keys(app.config)[0]
    new_key = generate_key()
    app.config["ENCRYPTION_KEYS"] = f"{new_key},{old_key}"
    try:
        result = app.test_cli_runner().invoke(args=["hub", "rotate-encryption"])
        assert result.exit_code == 0, result.output
        assert "webhook_endpoints.secret_encrypted: 1" in result.output
        with app.app_context():
            row = db.session.get(WebhookEndpoint, uuid.UUID(endpoint["id"]))
            assert SecretBox([new_key]).decrypt(row.secret_encrypted) == endpoint["secret"]
    finally:
        app.config["ENCRYPTION_KEYS"] = None


def test_send_time_guard_refuses_an_address_that_is_no_longer_allowed(app, register, receiver):
    from hub.services.webhooks.delivery import attempt_delivery

    owner = register()
    endpoint = create_endpoint(owner, receiver.url("/inside"), ["invoice.paid"])  # allowed when created
    publish(app, owner.tenant["id"], "invoice.paid", {"invoice_id": "inv_5"})
    app.config["OUTBOUND_ALLOW_PRIVATE"] = False  # now the same address is off limits
    try:
        with app.app_context():
            delivery = db.session.scalars(select(WebhookDelivery)).one()
            row = db.session.get(WebhookEndpoint, delivery.endpoint_id)
            result = attempt_delivery(delivery, row, None, 1, is_last=False)
        assert result.outcome == "refused"
    finally:
        app.config["OUTBOUND_ALLOW_PRIVATE"] = None
    assert receiver.requests() == []
    (logged,) = deliveries(owner, endpoint["id"])
    assert logged["status"] == "failed"
    assert logged["attempts"][0]["outcome"] == "refused"
    assert "loopback" in logged["attempts"][0]["error"]


def test_retention_purges_old_finished_deliveries_but_keeps_pending_ones(app, register):
    from datetime import timedelta

    from hub.models import WebhookAttempt, utcnow
    from hub.services.webhooks import purge_deliveries

    owner = register()
    endpoint = create_endpoint(owner, HOOK, ["invoice.paid"])
    for n in range(3):
        publish(app, owner.tenant["id"], "invoice.paid", {"invoice_id": f"inv_{n}"})
    with app.app_context():
        old, recent, pending = db.session.scalars(select(WebhookDelivery)
                                                  .order_by(WebhookDelivery.created_at)).all()
        long_ago = utcnow() - timedelta(days=31)
        old.status, recent.status = "delivered", "failed"
        pending.updated_at = long_ago
        db.session.add(WebhookAttempt(delivery_id=old.id, attempt=1, outcome="delivered", status_code=200))
        db.session.flush()
        old.updated_at = long_ago
        db.session.commit()
        assert purge_deliveries(timedelta(days=30)) == 1
        left = {d.id for d in db.session.scalars(select(WebhookDelivery))}
        assert left == {recent.id, pending.id}
        assert db.session.scalar(select(func.count()).select_from(WebhookAttempt)) == 0
    assert len(deliveries(owner, endpoint["id"])) == 2
