"""Webhook deliveries end to end: a real worker and beat, a real HTTP receiver on loopback,
signatures checked with the independent `standardwebhooks` library.

The worker runs with a retry schedule of ~1 s waits (WORKER_SETTINGS), each
retry parked in the database and sent again by beat's relay.
"""
from __future__ import annotations

import re
import uuid
from datetime import timedelta
from importlib.metadata import version

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from hub.extensions import db
from hub.models import WebhookDelivery, WebhookEndpoint, utcnow
from tests.support.jobs import wait_for_job
from tests.support.processes import wait_until
from tests.webhooks.conftest import create_endpoint, publish, wait_for_delivery

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("webhook_worker", "webhook_beat")]


def _job(account, job_id: str) -> dict:
    return account.get(f"/api/v1/jobs/{job_id}").get_json()["data"]


def _job_events(account, job_id: str) -> list[dict]:
    return account.get(f"/api/v1/jobs/{job_id}/events?per_page=100").get_json()["data"]


def _delivery_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(WebhookDelivery))


def test_finished_job_sends_one_signed_job_succeeded_to_subscribed_endpoints_only(app, register, receiver):
    alice, bob = register(), register()
    wanted = create_endpoint(alice, receiver.url("/alice"), ["job.succeeded"])
    create_endpoint(alice, receiver.url("/alice-failures"), ["job.failed"])
    create_endpoint(alice, receiver.url("/alice-off"), ["job.succeeded"], enabled=False)
    create_endpoint(bob, receiver.url("/bob"), ["job.succeeded"])
    resp = alice.post("/api/v1/jobs", json={"type": "demo.sleep", "payload": {"seconds": 0}},
                      headers={"X-Request-ID": "corr-hook-1"})
    assert resp.status_code == 202
    job_id = resp.get_json()["data"]["id"]

    (request,) = wait_until(lambda: receiver.requests("/alice"), 60, "the job.succeeded webhook")
    payload = Webhook(wanted["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "job.succeeded" and payload["timestamp"].endswith("Z")
    assert payload["data"]["id"] == job_id and payload["data"]["status"] == "succeeded"
    assert payload["data"]["result"] == {"slept": 0, "attempt": 1}
    assert request.headers["content-type"] == "application/json"
    # One User-Agent, naming the hub's webhooks and its version.
    assert request.header_values("User-Agent") == [f"integration-hub-webhooks/{version('integration-hub')}"]
    assert re.fullmatch(r"integration-hub-webhooks/\d+\.\d+\.\d+", request.headers["user-agent"])
    # The correlation id of the request that created the job reaches the receiver.
    assert request.headers["x-request-id"] == "corr-hook-1"

    delivery = wait_for_delivery(alice, wanted["id"], "delivered")
    assert delivery["webhook_id"] == request.headers["webhook-id"]
    assert delivery["request_id"] == "corr-hook-1"
    (attempt,) = delivery["attempts"]
    assert attempt["outcome"] == "delivered" and attempt["status_code"] == 200
    assert attempt["duration_ms"] >= 0 and attempt["response_body"] == "answer 200"
    # The delivery job itself succeeded, and announced nothing (no webhook about a webhook).
    deliver_job = wait_for_job(alice, delivery["job_id"], "succeeded", timeout=30)
    assert deliver_job["type"] == "webhook.deliver" and deliver_job["request_id"] == "corr-hook-1"
    assert _delivery_count(app) == 1
    assert [r.path for r in receiver.requests()] == ["/alice"]


def test_failures_are_retried_on_the_schedule_honouring_retry_after(app, register, receiver):
    owner = register()
    receiver.script("/flaky", 500, {"status": 429, "headers": {"Retry-After": "3"}}, 503)
    endpoint = create_endpoint(owner, receiver.url("/flaky"), ["file.processed"])
    publish(app, owner.tenant["id"], "file.processed", {"file_id": "f-1"})

    delivery = wait_for_delivery(owner, endpoint["id"], "delivered", timeout=90)
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 429, 503, 200]
    assert [a["outcome"] for a in delivery["attempts"]] == ["retry", "retry", "retry", "delivered"]
    assert delivery["attempts"][0]["response_body"] == "answer 500"
    requests = receiver.requests("/flaky")
    assert len(requests) == 4
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    for request in requests:
        Webhook(endpoint["secret"]).verify(request.body, request.headers)
    # Waits: the schedule's ~1 s, but at least the 3 s the 429 asked for.
    retries = [e["data"]["retry_in"] for e in _job_events(owner, delivery["job_id"])
               if e["status"] == "retrying"]
    assert len(retries) == 3
    assert 0.8 <= retries[0] <= 1.2 and retries[1] >= 3.0 and 0.8 <= retries[2] <= 1.2
    assert requests[2].at - requests[1].at >= 3.0
    with app.app_context():
        assert db.session.get(WebhookEndpoint, uuid.UUID(endpoint["id"])).failing_since is None


def test_exhausted_schedule_fails_the_delivery_after_eight_attempts(app, register, receiver):
    owner = register()
    receiver.script("/down", then=500)
    endpoint = create_endpoint(owner, receiver.url("/down"), ["invoice.paid"])
    publish(app, owner.tenant["id"], "invoice.paid", {"invoice_id": "inv-9"})

    delivery = wait_for_delivery(owner, endpoint["id"], "failed", timeout=120)
    assert delivery["attempt_count"] == 8 and len(receiver.requests("/down")) == 8
    assert [a["outcome"] for a in delivery["attempts"]] == ["retry"] * 7 + ["failed"]
    job = wait_for_job(owner, delivery["job_id"], "failed", timeout=30)
    assert job["attempts"] == 8 and job["error"]["code"] == "WEBHOOK_HTTP_ERROR"
    # Failing for minutes is not failing for days: the endpoint stays enabled.
    state = owner.get(f"/api/v1/webhook-endpoints/{endpoint['id']}").get_json()["data"]
    assert state["enabled"] is True and state["failing_since"] is not None


def test_other_client_errors_fail_at_once_without_retry(app, register, receiver):
    owner = register()
    receiver.script("/bad", then=400)
    endpoint = create_endpoint(owner, receiver.url("/bad"), ["sync.completed"])
    publish(app, owner.tenant["id"], "sync.completed", {"connection_id": "c-1"})
    delivery = wait_for_delivery(owner, endpoint["id"], "failed")
    assert delivery["attempt_count"] == 1 and delivery["last_status_code"] == 400
    job = wait_for_job(owner, delivery["job_id"], "failed", timeout=30)
    assert job["attempts"] == 1 and job["error"]["code"] == "WEBHOOK_REJECTED"


def test_slow_receiver_times_out_and_the_retry_gets_through(app, register, receiver):
    owner = register()
    receiver.script("/slow", {"status": 200, "delay": 5})  # the worker waits 2 s (WEBHOOK_TIMEOUT_SECONDS)
    endpoint = create_endpoint(owner, receiver.url("/slow"), ["payment.reconciled"])
    publish(app, owner.tenant["id"], "payment.reconciled", {"reconciliation_id": "r-1"})
    delivery = wait_for_delivery(owner, endpoint["id"], "delivered", timeout=60)
    first, second = delivery["attempts"]
    assert first["outcome"] == "retry" and first["status_code"] is None
    assert first["error"].startswith("timeout")
    assert second["status_code"] == 200


def test_replay_sends_the_same_webhook_id_again(app, register, receiver):
    owner = register()
    endpoint = create_endpoint(owner, receiver.url("/replay"), ["invoice.paid"])
    publish(app, owner.tenant["id"], "invoice.paid", {"invoice_id": "inv-1"})
    delivery = wait_for_delivery(owner, endpoint["id"], "delivered")

    resp = owner.post(f"/api/v1/webhook-deliveries/{delivery['id']}/replay",
                      headers={"X-Request-ID": "corr-replay"})
    assert resp.status_code == 202
    replayed = resp.get_json()["data"]
    assert replayed["status"] == "pending" and replayed["job_id"] != delivery["job_id"]
    first, second = wait_until(lambda: len(r := receiver.requests("/replay")) == 2 and r, 60,
                               "the replayed webhook")
    assert second.headers["webhook-id"] == first.headers["webhook-id"] == delivery["webhook_id"]
    assert second.body == first.body
    Webhook(endpoint["secret"]).verify(second.body, second.headers)
    done = wait_for_delivery(owner, endpoint["id"], "delivered")
    assert done["attempt_count"] == 2 and len(done["attempts"]) == 2
    assert [a["job_id"] for a in done["attempts"]] == [delivery["job_id"], replayed["job_id"]]


def test_after_rotation_both_secrets_sign_until_the_grace_period_ends(app, register, receiver):
    owner = register()
    endpoint = create_endpoint(owner, receiver.url("/rotated"), ["invoice.paid"])
    new = owner.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret").get_json()["data"]
    publish(app, owner.tenant["id"], "invoice.paid", {"invoice_id": "inv-2"})
    (request,) = wait_until(lambda: receiver.requests("/rotated"), 60, "the webhook")
    assert request.headers["webhook-signature"].count("v1,") == 2
    Webhook(new["secret"]).verify(request.body, request.headers)
    Webhook(endpoint["secret"]).verify(request.body, request.headers)
    # Once the grace period is over only the new secret signs.
    with app.app_context():
        row = db.session.get(WebhookEndpoint, uuid.UUID(endpoint["id"]))
        row.previous_secret_expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    publish(app, owner.tenant["id"], "invoice.paid", {"invoice_id": "inv-3"})
    _, later = wait_until(lambda: len(r := receiver.requests("/rotated")) == 2 and r, 60,
                          "the second webhook")
    assert later.headers["webhook-signature"].count("v1,") == 1
    Webhook(new["secret"]).verify(later.body, later.headers)


def test_gone_and_long_failing_endpoints_are_disabled_and_the_tenant_is_told(app, register, receiver,
                                                                              live_server):
    from tests.support.socket_client import RecordingClient

    owner = register()
    sock = RecordingClient(live_server, owner.access)
    try:
        receiver.script("/gone", then=410)
        receiver.script("/tired", then=500)
        gone = create_endpoint(owner, receiver.url("/gone"), ["invoice.paid"])
        tired = create_endpoint(owner, receiver.url("/tired"), ["invoice.paid"])
        with app.app_context():
            # Failing since just over five days: the next failure is the last straw.
            row = db.session.get(WebhookEndpoint, uuid.UUID(tired["id"]))
            row.failing_since = utcnow() - timedelta(days=5, minutes=1)
            db.session.commit()
        publish(app, owner.tenant["id"], "invoice.paid", {"invoice_id": "inv-5"})

        notes = wait_until(lambda: len(n := [d for name, d in sock.events if name == "notification"]) == 2
                           and n, 60, "two notifications")
        assert {n["kind"] for n in notes} == {"webhook_endpoint.disabled"}
        reasons = {n["data"]["endpoint_id"]: n["data"]["reason"] for n in notes}
        assert reasons == {gone["id"]: "the endpoint answered 410 Gone",
                           tired["id"]: "every attempt failed for 5 days"}
        for endpoint in (gone, tired):
            state = owner.get(f"/api/v1/webhook-endpoints/{endpoint['id']}").get_json()["data"]
            assert state["enabled"] is False and state["disabled_reason"] == reasons[endpoint["id"]]
            delivery = wait_for_delivery(owner, endpoint["id"], "failed")
            assert delivery["attempt_count"] == 1  # no retries after disabling
        assert len(receiver.requests("/gone")) == 1 and len(receiver.requests("/tired")) == 1
        audit = owner.get("/api/v1/audit-events?action=webhook_endpoint.disabled").get_json()["data"]
        assert {a["object_id"] for a in audit} == {gone["id"], tired["id"]}
        # Disabled endpoints get nothing more.
        publish(app, owner.tenant["id"], "invoice.paid", {"invoice_id": "inv-6"})
        assert _delivery_count(app) == 2
    finally:
        sock.close()
