"""The fair scheduler against real processes: workers, beat, an SMTP server and a
webhook receiver. Each test sets the tier and flow limits for the API (this
process), its workers and beat alike."""
from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from hub import jobs
from hub.extensions import db
from hub.models import Job
from tests.email.conftest import mail_config
from tests.support.http_fake import FakeHTTPServer
from tests.support.processes import start_beat, start_ready_worker, wait_until
from tests.support.smtp_sink import SmtpSink
from tests.webhooks.conftest import WORKER_SETTINGS, create_endpoint, publish

pytestmark = pytest.mark.e2e

FLOOD = {"rate": "100000 per minute", "concurrency": 5}


@pytest.fixture
def scheduled(app, base_config, process_logs):
    """`run(settings)`: the settings for the test app, then workers and beat that share them."""
    saved = {k: app.config[k] for k in ("JOB_TIER_LIMITS", "FLOW_LIMITS")}
    started = []

    class Hub:
        config: dict[str, Any] = dict(base_config)

        def settings(self, **settings: Any) -> None:
            self.config = {**base_config, **settings}
            app.config.update({k: v for k, v in settings.items() if k in saved})

        def worker(self, name: str = "worker", **kw: Any):
            started.append(start_ready_worker(app.extensions["celery"], self.config, process_logs,
                                              name, **kw))
            return started[-1]

        def beat(self):
            started.append(start_beat(self.config, process_logs))
            return started[-1]

    yield Hub()
    for proc in started:
        proc.stop()
    app.config.update(saved)


def tiers(app, **standard: Any) -> dict[str, Any]:
    return {**app.config["JOB_TIER_LIMITS"], "standard": {**FLOOD, **standard}}


def statuses(tenant_id: str) -> Counter:
    db.session.commit()
    return Counter(db.session.scalars(select(Job.status).where(
        Job.tenant_id == uuid.UUID(tenant_id))).all())


def queue_jobs(tenant_id: str, count: int, payload: dict[str, Any]) -> list[uuid.UUID]:
    """What a bulk import does: many jobs of one tenant, in one transaction."""
    ids = [jobs.create_job(uuid.UUID(tenant_id), "demo.sleep", payload).id for _ in range(count)]
    jobs.commit_and_dispatch()
    return ids


def test_a_backlog_never_starves_another_tenant(app, app_ctx, register, scheduled):
    scheduled.settings(JOB_TIER_LIMITS=tiers(app))
    scheduled.worker(concurrency=4)
    scheduled.beat()
    flooder, quiet = register(), register()
    queue_jobs(flooder.tenant["id"], 300, {"seconds": 2})
    time.sleep(3)
    started = time.monotonic()
    mine = [quiet.post("/api/v1/jobs", json={"type": "demo.sleep", "payload": {"seconds": 0}})
            for _ in range(10)]
    assert all(r.status_code == 202 for r in mine)
    wait_until(lambda: statuses(quiet.tenant["id"])["succeeded"] == 10, 30,
               "the quiet tenant's 10 jobs to succeed")
    took = time.monotonic() - started
    print(f"the quiet tenant's 10 jobs: all succeeded {took:.1f} s after it queued them")
    # Two seconds per job ahead of it at most twice over, plus the machine's noise;
    # before the scheduler, 4 of the 10 had finished after 60 s.
    assert took < 20, f"the quiet tenant waited {took:.1f} s"
    assert statuses(flooder.tenant["id"])["queued"] > 200  # the backlog was still there


def test_three_tenants_with_backlogs_share_the_workers_in_turns(app, app_ctx, register, scheduled):
    scheduled.settings(JOB_TIER_LIMITS=tiers(app, concurrency=2))
    tenants = [register() for _ in range(3)]
    for tenant in tenants:  # oldest first: the first tenant's backlog is the oldest
        queue_jobs(tenant.tenant["id"], 40, {"seconds": 0.2})
    scheduled.worker(concurrency=2)
    scheduled.beat()

    def done() -> Counter:
        db.session.commit()
        return Counter(str(t) for t in db.session.scalars(select(Job.tenant_id).where(
            Job.status == "succeeded")).all())

    finished = wait_until(lambda: (c := done()) and sum(c.values()) >= 45 and c, 90,
                          "45 jobs to succeed")
    shares = [finished[t.tenant["id"]] for t in tenants]
    fair = sum(shares) / 3
    print(f"shares of the first {sum(shares)} jobs done: {shares}")
    assert all(abs(share - fair) <= 0.2 * fair for share in shares), shares


class SlowReceiver(FakeHTTPServer):
    """Answers every request after 0.3 s, counting the requests it is answering at once."""

    def __init__(self) -> None:
        self.answering = self.most_at_once = 0
        self._count = threading.Lock()
        super().__init__(self._slowly)

    def _slowly(self, _request: Any) -> int:
        with self._count:
            self.answering += 1
            self.most_at_once = max(self.most_at_once, self.answering)
        try:
            time.sleep(0.3)
        finally:
            with self._count:
                self.answering -= 1
        return 200


def test_a_webhook_endpoint_with_concurrency_one_gets_one_request_at_a_time(
        app, app_ctx, register, scheduled):
    receiver = SlowReceiver()
    try:
        scheduled.settings(**WORKER_SETTINGS, JOB_TIER_LIMITS=tiers(app, concurrency=10),
                           FLOW_LIMITS={**app.config["FLOW_LIMITS"],
                                        "webhook-endpoint:*": {"concurrency": 1}})
        owner = register()
        endpoint = create_endpoint(owner, receiver.url("/slow"), ["invoice.paid"])
        for n in range(6):
            publish(app, owner.tenant["id"], "invoice.paid", {"n": n})
        db.session.commit()
        waiting = db.session.scalars(select(Job).where(Job.waiting_for.is_not(None))).all()
        assert len(waiting) == 5  # one is sent; the rest wait in the database, saying why
        shown = owner.get(f"/api/v1/jobs/{waiting[0].id}").get_json()["data"]
        assert shown["waiting_for"] == f"webhook-endpoint:{endpoint['id']}"
        assert "1 at a time" in shown["message"]
        scheduled.worker(concurrency=4)
        scheduled.beat()
        wait_until(lambda: len(receiver.requests("/slow")) == 6, 60, "six deliveries")
        assert receiver.most_at_once == 1
    finally:
        receiver.close()


def test_an_smtp_rate_holds_across_two_workers(app, app_ctx, register, scheduled):
    sink = SmtpSink(_free_port())
    sink.start()
    try:
        scheduled.settings(**mail_config(sink.port), JOB_TIER_LIMITS=tiers(app, concurrency=20),
                           FLOW_LIMITS={**app.config["FLOW_LIMITS"], "smtp": {"rate": "5/second"}})
        scheduled.worker("mail-a", concurrency=2)
        scheduled.worker("mail-b", concurrency=2)
        scheduled.beat()
        owner = register()
        for n in range(15):
            resp = owner.post("/api/v1/emails", json={"to": [f"r{n}@example.com"], "subject": "s",
                                                      "text": "t"})
            assert resp.status_code == 202, resp.get_json()
        wait_until(lambda: len(sink.messages()) == 15, 60, "15 messages at the SMTP server")
        at = sorted(m.at for m in sink.messages())
        assert len({m.message["Message-ID"] for m in sink.messages()}) == 15  # each once
        # Starts are granted 0.2 s apart; a busy machine delays some sends by a tenth of
        # a second or so, which can bring a sixth message into a second's window, never a
        # seventh. Unpaced, all 15 arrive within about half a second.
        assert min(at[i + 6] - at[i] for i in range(len(at) - 6)) > 1.0, at
        assert at[-1] - at[0] >= 14 / 5 * 0.8, at
    finally:
        sink.stop()


def test_a_killed_workers_keys_come_free_when_its_lease_expires(app, app_ctx, register, scheduled):
    scheduled.settings(JOB_TIER_LIMITS=tiers(app),
                       FLOW_LIMITS={**app.config["FLOW_LIMITS"], "demo:*": {"concurrency": 1}})
    owner = register()
    doomed = scheduled.worker("doomed", concurrency=2)
    scheduled.beat()
    first = owner.post("/api/v1/jobs", json={"type": "demo.sleep",
                                             "payload": {"seconds": 6, "flow_key": "k"}})
    first_id = first.get_json()["data"]["id"]
    wait_until(lambda: owner.get(f"/api/v1/jobs/{first_id}").get_json()["data"]["status"] == "running",
               30, "the first job to run")
    second = owner.post("/api/v1/jobs", json={"type": "demo.sleep",
                                              "payload": {"seconds": 0, "flow_key": "k"}})
    body = second.get_json()["data"]
    assert body["status"] == "queued"
    assert body["waiting_for"] == f"demo:{owner.tenant['id']}:k"
    doomed.kill()
    killed = time.monotonic()
    scheduled.worker("rescuer", concurrency=2)
    done = wait_until(lambda: (j := owner.get(f"/api/v1/jobs/{body['id']}").get_json()["data"])
                      ["status"] == "succeeded" and j, 60, "the waiting job to run")
    # The lease (4 s in tests) expired, the key came free, the waiting job went first.
    assert time.monotonic() - killed < 30
    assert done["waiting_for"] is None
    again = wait_until(lambda: (j := owner.get(f"/api/v1/jobs/{first_id}").get_json()["data"])
                       ["status"] == "succeeded" and j, 60, "the killed job's retry to succeed")
    assert again["attempts"] == 2


def _free_port() -> int:
    from localservices import free_port

    return free_port()


def test_sockets_hear_why_a_job_waits_and_when_it_stops_waiting(app, base_config, process_logs):
    import requests

    from tests.support.helpers import PASSWORD
    from tests.support.processes import WebHub
    from tests.support.socket_client import RecordingClient

    config = {**base_config, "FLOW_LIMITS": {**app.config["FLOW_LIMITS"], "demo:*": {"concurrency": 1}}}
    web = WebHub(config, process_logs)  # the API and its realtime process; no worker runs anything
    sock = None
    try:
        signup = requests.post(web.url + "/api/v1/auth/register", timeout=10, json={
            "tenant_name": "Waiters", "name": "W", "email": f"{uuid.uuid4().hex[:10]}@example.com",
            "password": PASSWORD}).json()["data"]
        headers = {"Authorization": f"Bearer {signup['access_token']}"}
        sock = RecordingClient(web.url, signup["access_token"])

        def submit() -> str:
            resp = requests.post(web.url + "/api/v1/jobs", headers=headers, timeout=10, json={
                "type": "demo.sleep", "payload": {"seconds": 30, "flow_key": "k"}})
            assert resp.status_code == 202, resp.text
            return resp.json()["data"]["id"]

        holder, waiter = submit(), submit()
        tenant_id = (signup.get("tenant") or {}).get("id") or signup["user"]["tenant_id"]
        key = f"demo:{tenant_id}:k"
        held = wait_until(lambda: [u for u in sock.job_updates(waiter) if u["waiting_for"] == key],
                          10, "a job.updated saying what the job waits for")
        assert "1 at a time" in held[0]["message"]
        resp = requests.post(web.url + f"/api/v1/jobs/{holder}/cancel", headers=headers, timeout=10)
        assert resp.status_code == 200, resp.text
        freed = wait_until(lambda: [u for u in sock.job_updates(waiter) if u["waiting_for"] is None
                                    and u["version"] > held[0]["version"]],
                           10, "a job.updated saying the job no longer waits")
        assert freed[-1]["status"] == "queued" and freed[-1]["message"] == "queued"
    finally:
        if sock is not None:
            sock.close()
        web.stop()
