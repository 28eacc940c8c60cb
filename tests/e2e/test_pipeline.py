"""The job pipeline end to end: gunicorn, a real worker, real Socket.IO clients."""
from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
import requests
import socketio
from flask_jwt_extended import create_access_token

from tests.support.helpers import PASSWORD
from tests.support.jobs import wait_for_job
from tests.support.processes import wait_until
from tests.support.socket_client import RecordingClient

pytestmark = pytest.mark.e2e

ORDER = {"queued": 0, "running": 1, "retrying": 1, "succeeded": 2, "failed": 2, "cancelled": 2}


class Api:
    """A user of the live server, over real HTTP."""

    def __init__(self, base: str, tenant: str) -> None:
        self.base = base
        email = f"{uuid.uuid4().hex[:10]}@example.com"
        resp = requests.post(base + "/api/v1/auth/register", timeout=10, json={
            "tenant_name": tenant, "name": "U", "email": email, "password": PASSWORD})
        assert resp.status_code == 201, resp.text
        self.data = resp.json()["data"]
        self.token = self.data["access_token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def post(self, path: str, **kw):
        return requests.post(self.base + path, headers={**self.headers, **kw.pop("headers", {})},
                             timeout=10, **kw)

    def get(self, path: str):
        return requests.get(self.base + path, headers=self.headers, timeout=10)

    def submit(self, payload: dict, **kw) -> str:
        resp = self.post("/api/v1/jobs", json={"type": "demo.sleep", "payload": payload}, **kw)
        assert resp.status_code == 202, resp.text
        return resp.json()["data"]["id"]

    def job(self, job_id: str) -> dict:
        return self.get(f"/api/v1/jobs/{job_id}").json()["data"]

    def events(self, job_id: str) -> list[dict]:
        return self.get(f"/api/v1/jobs/{job_id}/events?per_page=100").json()["data"]


@pytest.fixture
def users(module_live_server):
    clients: list[RecordingClient] = []

    def make(tenant: str = "Acme") -> tuple[Api, RecordingClient]:
        api = Api(module_live_server, tenant)
        sock = RecordingClient(module_live_server, api.token)
        clients.append(sock)
        return api, sock

    yield make
    for sock in clients:
        sock.close()


def test_job_succeeds_and_its_user_sees_every_step_in_order(users, start_worker):
    worker = start_worker()
    alice, alice_sock = users("Alice Co")
    bob, bob_sock = users("Bob Co")
    job_id = alice.submit({"seconds": 2.5}, headers={"X-Request-ID": "corr-e2e-1"})
    updates = alice_sock.wait_for_status(job_id, "succeeded")
    statuses = [u["status"] for u in updates]
    assert statuses[0] == "queued" and statuses[-1] == "succeeded"
    assert "running" in statuses
    # In order: never back to an earlier phase, progress never goes down.
    assert [ORDER[s] for s in statuses] == sorted(ORDER[s] for s in statuses)
    progress = [u["progress"] for u in updates if u["status"] == "running"]
    assert progress == sorted(progress) and len([p for p in progress if p > 0]) >= 3
    assert updates[-1]["result"] == {"slept": 2.5, "attempt": 1}
    assert all(u["request_id"] == "corr-e2e-1" for u in updates)
    # The ledger has the same story.
    events = alice.events(job_id)
    assert [e["status"] for e in events][-1] == "succeeded"
    assert sum(1 for e in events if e["kind"] == "progress") >= 3
    # The worker's log lines for the job carry the request id and the job id.
    tagged = [line for line in worker.log_tail(200).splitlines() if f"job={job_id}" in line]
    assert tagged and all("req=corr-e2e-1" in line for line in tagged)
    # Another tenant saw nothing and cannot read it.
    time.sleep(0.3)
    assert bob_sock.job_updates() == []
    assert bob.get(f"/api/v1/jobs/{job_id}").status_code == 404


def test_retries_with_growing_delays_then_success(users, start_worker):
    start_worker()
    api, sock = users()
    job_id = api.submit({"seconds": 0.5, "fail_times": 2})
    sock.wait_for_status(job_id, "succeeded", timeout=40)
    job = api.job(job_id)
    assert job["attempts"] == 3 and job["status"] == "succeeded"
    retries = [e for e in api.events(job_id) if e["status"] == "retrying"]
    assert len(retries) == 2
    delays = [e["data"]["retry_in"] for e in retries]
    assert delays[0] < delays[1]
    assert retries[0]["data"]["error"]["code"] == "DEMO_FAILURE"
    assert [u["status"] for u in sock.job_updates(job_id)].count("retrying") == 2


def test_every_job_update_is_the_job_as_get_returns_it_and_versions_order_them(users, start_worker):
    start_worker()
    api, sock = users()
    job_id = api.submit({"seconds": 0.3, "fail_times": 1})
    sock.wait_for_status(job_id, "succeeded", timeout=40)
    job = api.job(job_id)
    updates = sock.job_updates(job_id)
    # Each event has every field a read has; none is left out because it is null.
    assert all(set(u) == set(job) for u in updates)
    versions = [u["version"] for u in updates]
    assert len(set(versions)) == len(versions)
    newest = max(updates, key=lambda u: u["version"])
    # A client merging events ends where a reload would: the failure's error is gone.
    assert newest == job
    assert newest["status"] == "succeeded" and newest["error"] is None
    assert newest["finished_at"] is not None and newest["next_attempt_at"] is None
    retrying = [u for u in updates if u["status"] == "retrying"]
    assert retrying and retrying[0]["error"]["code"] == "DEMO_FAILURE"
    assert retrying[0]["finished_at"] is None and retrying[0]["next_attempt_at"] is not None
    # In version order the job never goes back to an earlier phase.
    in_order = [u["status"] for u in sorted(updates, key=lambda u: u["version"])]
    assert in_order[0] == "queued" and in_order[-1] == "succeeded"
    assert [ORDER[s] for s in in_order if s != "retrying"] == sorted(
        ORDER[s] for s in in_order if s != "retrying")
    # Subscribing answers the same object, at the version a read gives.
    ack = sock.call("subscribe", {"job_id": job_id})
    assert ack == {"ok": True, "job": job}


def test_exhausted_job_fails_then_manual_retry_succeeds(users, start_worker):
    start_worker()
    api, sock = users()
    job_id = api.submit({"seconds": 0.2, "fail_times": 3})
    sock.wait_for_status(job_id, "failed", timeout=40)
    failed = api.job(job_id)
    assert failed["attempts"] == 3
    assert failed["error"]["code"] == "DEMO_FAILURE" and "Traceback" not in failed["error"]["message"]
    resp = api.post(f"/api/v1/jobs/{job_id}/retry")
    assert resp.status_code == 202 and resp.json()["data"]["status"] == "queued"
    done = wait_for_job(api.job, job_id, "succeeded", timeout=30)
    assert done["attempts"] == 4 and done["result"]["attempt"] == 4


def test_cancel_while_running_stops_at_the_next_checkpoint(users, start_worker):
    start_worker()
    api, sock = users()
    job_id = api.submit({"seconds": 30})
    wait_until(lambda: any(u["progress"] > 0 for u in sock.job_updates(job_id)), 20,
               "first progress step")
    resp = api.post(f"/api/v1/jobs/{job_id}/cancel")
    assert resp.status_code == 200 and resp.json()["data"]["status"] == "cancelled"
    sock.wait_for_status(job_id, "cancelled", timeout=5)
    # The handler notices within one progress step (1 s) and stops.
    wait_until(lambda: any("stopped after cancel" in (e["message"] or "")
                           for e in api.events(job_id)), 5, "the handler to stop")
    progress_after = [u for u in sock.job_updates(job_id) if u["status"] == "running"]
    time.sleep(1.5)
    assert [u for u in sock.job_updates(job_id) if u["status"] == "running"] == progress_after
    assert api.job(job_id)["status"] == "cancelled"
    again = api.post(f"/api/v1/jobs/{job_id}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "CONFLICT"


def test_subscribe_to_own_job_and_refused_for_another_tenants(users):
    alice, alice_sock = users("A")
    bob, bob_sock = users("B")
    job_id = alice.submit({"seconds": 1})
    mine = alice_sock.call("subscribe", {"job_id": job_id})
    assert mine["ok"] is True and mine["job"]["id"] == job_id
    theirs = bob_sock.call("subscribe", {"job_id": job_id})
    assert theirs == {"ok": False, "error": {"code": "NOT_FOUND", "message": "Job not found."}}
    assert bob_sock.call("subscribe", {"job_id": "nope"})["ok"] is False
    assert alice_sock.call("unsubscribe", {"job_id": job_id}) == {"ok": True}


def test_socket_with_expired_token_is_refused(app, module_live_server, users):
    alice, _ = users()
    with app.app_context():
        expired = create_access_token(identity=alice.data["user"]["id"],
                                      expires_delta=timedelta(seconds=-1))
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(module_live_server, auth={"token": expired}, transports=["websocket"],
                       wait_timeout=10)


def test_staff_socket_sees_every_tenants_jobs(app, users, start_worker):
    from hub.extensions import db
    from hub.models import User

    start_worker()
    alice, _ = users("A")
    staff_api = Api(alice.base, "Ops")
    with app.app_context():
        db.session.get(User, uuid.UUID(staff_api.data["user"]["id"])).is_staff = True
        db.session.commit()
    staff_sock = RecordingClient(alice.base, staff_api.token)
    try:
        job_id = alice.submit({"seconds": 0.2})
        staff_sock.wait_for_status(job_id, "succeeded")
    finally:
        staff_sock.close()


def test_a_batch_runs_every_job_once_and_its_user_hears_each_one(users, start_worker, start_beat):
    start_worker()
    start_beat()  # the sixth job is over the tenant's concurrency (5): the relay sends it later
    alice, alice_sock = users("Batch Co")
    jobs = [{"type": "demo.sleep", "payload": {"seconds": 0}} for _ in range(6)]
    resp = alice.post("/api/v1/jobs/batch", json={"jobs": jobs}, headers={"X-Request-ID": "corr-batch"})
    assert resp.status_code == 202, resp.text
    ids = [j["id"] for j in resp.json()["data"]]
    for job_id in ids:
        updates = alice_sock.wait_for_status(job_id, "succeeded")
        assert updates[0]["status"] == "queued" and updates[0]["request_id"] == "corr-batch"
        job = alice.job(job_id)
        assert job["attempts"] == 1 and job["result"] == {"slept": 0.0, "attempt": 1}
        assert [e["status"] for e in alice.events(job_id) if e["kind"] == "transition"] == [
            "queued", "running", "succeeded"]
