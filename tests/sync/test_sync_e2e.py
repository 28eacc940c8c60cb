"""Syncs end to end: a real worker and beat, a scripted JSON source on loopback that pages,
rate-limits, fails and refuses credentials."""
from __future__ import annotations

import json
import uuid

import pytest

from hub.extensions import db
from hub.models import Connection
from tests.support.http_fake import FakeHTTPServer
from tests.support.jobs import wait_for_job
from tests.support.processes import wait_until
from tests.sync.conftest import create_connection, records, sync
from tests.webhooks.conftest import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("sync_worker", "sync_beat")]


def _connection(account, connection_id: str) -> dict:
    return account.get(f"/api/v1/connections/{connection_id}").get_json()["data"]


def test_sync_lands_every_record_once_counts_changes_and_announces_it(app, register, source):
    owner = register()
    receiver = Receiver()
    try:
        hook = owner.post("/api/v1/webhook-endpoints",
                          json={"url": receiver.url("/hook"), "events": ["sync.completed"]})
        assert hook.status_code == 201
        conn = create_connection(owner, source.url)
        job = wait_for_job(owner, sync(owner, conn["id"])["id"], "succeeded")
        counts = {"pages": 3, "records": 25, "created": 25, "updated": 0, "unchanged": 0, "deleted": 0}
        assert {k: job["result"][k] for k in counts} == counts
        assert sorted(source.pages_requested()) == [1, 2, 3]
        stored = records(owner, conn["id"])
        assert sorted(int(r["external_id"]) for r in stored) == list(range(1, 26))
        assert stored[0]["data"] == {"id": 1, "name": "item 1", "price": 10}
        state = _connection(owner, conn["id"])
        assert state["last_sync_status"] == "succeeded" and state["last_sync_counts"] == counts
        assert state["run_in_progress"] is False

        (request,) = wait_until(lambda: receiver.requests("/hook"), 60, "the sync.completed webhook")
        event = json.loads(request.body)
        assert event["type"] == "sync.completed"
        assert event["data"]["connection_id"] == conn["id"] and event["data"]["counts"] == counts

        # The source changes: one edited, one gone, one new; the rest stay as they were.
        source.items[1]["price"] = 999
        source.items = [i for i in source.items if i["id"] != 25] + [{"id": 26, "name": "new", "price": 1}]
        job = wait_for_job(owner, sync(owner, conn["id"])["id"], "succeeded")
        assert {k: job["result"][k] for k in ("created", "updated", "unchanged", "deleted")} == \
            {"created": 1, "updated": 1, "unchanged": 23, "deleted": 1}
        live = records(owner, conn["id"])
        assert len(live) == 25 and {r["external_id"] for r in live} >= {"26", "2"}
        everything = records(owner, conn["id"], include_deleted="true")
        (gone,) = [r for r in everything if r["deleted_at"]]
        assert gone["external_id"] == "25" and len(everything) == 26
    finally:
        receiver.close()


def test_server_errors_and_rate_limits_are_retried_and_nothing_lands_twice(app, register, source):
    owner = register()
    source.fail(2, 500, 502, {"status": 429, "headers": {"Retry-After": "1"}})
    # Longer than the worker waits in-process (2 s): the job is parked for 4 s instead.
    source.fail(3, {"status": 429, "headers": {"Retry-After": "4"}})
    conn = create_connection(owner, source.url)
    job_id = sync(owner, conn["id"])["id"]
    job = wait_for_job(owner, job_id, "succeeded", timeout=90)
    assert job["attempts"] == 2
    assert job["result"]["created"] == 25 and job["result"]["pages"] == 3
    # Page 1 once; page 2 after three failures; page 3 refused once, then fetched by attempt 2.
    assert source.pages_requested() == [1, 2, 2, 2, 2, 3, 3]
    waits = [r["at"] for r in source.requests]
    assert waits[4] - waits[3] >= 1.0 and waits[6] - waits[5] >= 4.0
    events = owner.get(f"/api/v1/jobs/{job_id}/events?per_page=100").get_json()["data"]
    (retry,) = [e for e in events if e["status"] == "retrying"]
    assert retry["data"]["retry_in"] >= 4.0
    assert retry["data"]["error"]["code"] == "SYNC_SOURCE_UNAVAILABLE"
    assert len(records(owner, conn["id"])) == 25


def test_refused_credentials_fail_fast_and_mark_the_connection(app, register, source):
    owner = register()
    source.token = "right-token"
    conn = create_connection(owner, source.url, credentials={"token": "wrong-token"})
    job = wait_for_job(owner, sync(owner, conn["id"])["id"], "failed")
    assert job["attempts"] == 1 and job["error"]["code"] == "SYNC_AUTH_FAILED"
    assert "401" in job["error"]["message"] and "wrong-token" not in json.dumps(job)
    assert source.pages_requested() == [1]
    state = _connection(owner, conn["id"])
    assert state["status"] == "needs_attention" and "401" in state["status_reason"]
    assert state["last_sync_status"] == "failed"
    audit = owner.get("/api/v1/audit-events?per_page=100").get_json()["data"]
    assert "connection.needs_attention" in {e["action"] for e in audit}

    fixed = owner.patch(f"/api/v1/connections/{conn['id']}", json={"credentials": {"token": "right-token"}})
    assert fixed.get_json()["data"]["status"] == "ok"
    job = wait_for_job(owner, sync(owner, conn["id"])["id"], "succeeded")
    assert job["result"]["created"] == 25
    assert source.requests[-1]["auth"] == "Bearer right-token"


def test_stripe_customers_sync_through_the_stripe_library(app, register):
    customers = [{"id": f"cus_{n}", "object": "customer", "email": f"c{n}@example.com",
                  "name": f"Customer {n}", "created": 1700000000 + n, "metadata": {"n": str(n)},
                  "livemode": False} for n in range(5, 0, -1)]

    def stripe_list(request):
        after = request.param("starting_after")
        start = next((i + 1 for i, c in enumerate(customers) if c["id"] == after), 0)
        limit = int(request.param("limit", "10"))
        return {"object": "list", "url": "/v1/customers", "data": customers[start:start + limit],
                "has_more": start + limit < len(customers)}

    with FakeHTTPServer(stripe_list) as server:
        owner = register()
        resp = owner.post("/api/v1/connections", json={
            "connector": "stripe_customers", "name": "Stripe",
            "config": {"api_base": server.url("").rstrip("/"), "page_size": 2},
            "credentials": {"api_key": "sk_test_hub123"}})
        assert resp.status_code == 201, resp.get_json()
        conn = resp.get_json()["data"]
        job = wait_for_job(owner, sync(owner, conn["id"])["id"], "succeeded")
        seen = server.requests()
    assert job["result"]["created"] == 5 and job["result"]["pages"] == 3
    assert {r.path for r in seen} == {"/v1/customers"}
    assert {r.headers.get("authorization") for r in seen} == {"Bearer sk_test_hub123"}
    stored = {r["external_id"]: r["data"] for r in records(owner, conn["id"])}
    assert set(stored) == {f"cus_{n}" for n in range(1, 6)}
    assert stored["cus_3"]["email"] == "c3@example.com" and stored["cus_3"]["metadata"] == {"n": "3"}


def test_a_deleted_connection_stops_its_sync(app, register, source):
    owner = register()
    source.delay = 0.5
    conn = create_connection(owner, source.url)
    job_id = sync(owner, conn["id"])["id"]
    wait_until(lambda: source.requests, 30, "the first page request")
    assert owner.delete(f"/api/v1/connections/{conn['id']}").status_code == 200
    job = wait_for_job(owner, job_id, "failed")
    assert job["error"]["code"] == "SYNC_CONNECTION_GONE"
    with app.app_context():
        assert db.session.get(Connection, uuid.UUID(conn["id"])) is None
