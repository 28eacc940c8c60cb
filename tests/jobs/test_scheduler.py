"""The scheduler's choices on the real database and Redis, without a worker: turns between
tenants, priorities inside a tenant's turn, flow-control keys, slots handed on."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from hub import jobs
from hub.config import ConfigError, check_flow_limits
from hub.extensions import db, redis_client
from hub.jobs import runs as job_runs
from hub.models import FlowRate, Job, utcnow
from tests.support.helpers import assert_error


@pytest.fixture
def limits(app):
    """`set(concurrency=.., flows={..})`: the standard tier's slots and extra FLOW_LIMITS."""
    saved = {k: app.config[k] for k in ("JOB_TIER_LIMITS", "FLOW_LIMITS")}

    def _set(concurrency: int = 2, flows: dict[str, Any] | None = None, **tier: Any) -> None:
        app.config["JOB_TIER_LIMITS"] = {**saved["JOB_TIER_LIMITS"], "standard": {
            "rate": "10000 per minute", "concurrency": concurrency, **tier}}
        app.config["FLOW_LIMITS"] = {**saved["FLOW_LIMITS"], **(flows or {})}

    yield _set
    app.config.update(saved)


def sent() -> list[str]:
    """Job ids in the broker's queues, oldest first."""
    raw = [m for q in ("default", "email", "webhooks") for m in redis_client().lrange(q, 0, -1)]
    return [json.loads(m)["headers"]["id"] for m in reversed(raw)]


def queue(tenant_id: str, count: int, **kw: Any) -> list[str]:
    payload = kw.pop("payload", {"seconds": 1})
    ids = [str(jobs.create_job(uuid.UUID(tenant_id), "demo.sleep", payload, **kw).id)
           for _ in range(count)]
    jobs.commit_and_dispatch()
    return ids


def finish(job_id: str) -> None:
    """What a worker's success does to the row, then its hand-on."""
    job = db.session.get(Job, uuid.UUID(job_id))
    job.status, job.finished_at = "succeeded", utcnow()
    tenant_id, keys = job.tenant_id, list(job.flow_keys)
    db.session.commit()
    jobs.hand_on(tenant_id, keys)


def job(job_id: str) -> Job:
    db.session.commit()
    return db.session.get(Job, uuid.UUID(job_id))


def age(ids: list[str], seconds: float = 30) -> None:
    for job_id in ids:
        job(job_id).created_at = utcnow() - timedelta(seconds=seconds)
    db.session.commit()


def test_the_relay_gives_every_tenant_a_turn_whatever_the_backlog(app_ctx, register, limits):
    limits(concurrency=2)
    big, small = register(), register()
    backlog = queue(big.tenant["id"], 250)   # 2 sent, 248 wait (older than anything else)
    mine = queue(small.tenant["id"], 4)      # 2 sent, 2 wait
    age(backlog[2:], 60)
    age(mine[2:], 5)
    for job_id in backlog[:2] + mine[:2]:
        finish_row = job(job_id)
        finish_row.status, finish_row.finished_at = "succeeded", utcnow()
    db.session.commit()
    redis_client().delete("default")
    assert jobs.relay(batch=3)["dispatched"] == 3
    # Turns: each tenant one job per round, and a tenant whose jobs all fit its free
    # slots first, so the small tenant's jobs are not behind 248 older ones.
    assert sent() == [mine[2], backlog[2], mine[3]]


def test_a_finished_job_hands_its_slot_to_the_tenants_highest_priority_at_once(
        app_ctx, register, limits):
    limits(concurrency=1)
    owner = register()
    (running,) = queue(owner.tenant["id"], 1)
    low = queue(owner.tenant["id"], 1, priority="low")[0]
    normal = queue(owner.tenant["id"], 1)[0]
    high = queue(owner.tenant["id"], 1, priority="high")[0]
    assert sent() == [running]
    assert job(high).waiting_for == "tenant"
    assert "1 jobs at a time" in job(high).message
    finish(running)  # no relay: the hand-on itself sends the next one
    assert sent() == [running, high]
    assert job(high).waiting_for is None and job(high).message == "queued"
    finish(high)
    finish(normal)
    assert sent() == [running, high, normal, low]


def test_a_priority_above_the_tier_is_refused(app_ctx, register, limits):
    limits(max_priority="normal")
    owner = register()
    resp = owner.post("/api/v1/jobs", json={"type": "demo.sleep", "payload": {"seconds": 0},
                                            "priority": "high"})
    assert_error(resp, 422, "VALIDATION_ERROR")
    assert "priority" in resp.get_json()["details"]["fields"]["json"]
    resp = owner.post("/api/v1/jobs", json={"type": "demo.sleep", "payload": {"seconds": 0},
                                            "priority": "urgent"})
    assert_error(resp, 422, "VALIDATION_ERROR")
    ok = owner.post("/api/v1/jobs", json={"type": "demo.sleep", "payload": {"seconds": 0},
                                          "priority": "low"})
    assert ok.status_code == 202 and ok.get_json()["data"]["priority"] == "low"


def test_a_key_at_its_limit_holds_jobs_in_the_outbox_and_frees_them_in_tenant_turns(
        app_ctx, register, limits):
    limits(concurrency=5, flows={"shared": {"concurrency": 1}})
    first, second = register(), register()
    a = [str(jobs.create_job(uuid.UUID(first.tenant["id"]), "demo.sleep", {"seconds": 1},
                             flow_keys=["shared"]).id) for _ in range(3)]
    jobs.commit_and_dispatch()
    b = [str(jobs.create_job(uuid.UUID(second.tenant["id"]), "demo.sleep", {"seconds": 1},
                             flow_keys=["shared"]).id)]
    jobs.commit_and_dispatch()
    assert sent() == [a[0]]
    assert {job(i).waiting_for for i in a[1:] + b} == {"shared"}
    shown = first.get(f"/api/v1/jobs/{a[1]}").get_json()["data"]
    assert shown["waiting_for"] == "shared" and "1 at a time" in shown["message"]
    # The key comes free: the other tenant has run nothing on it, so its job goes first,
    # though the first tenant's are older.
    finish(a[0])
    assert sent() == [a[0], b[0]]
    finish(b[0])
    assert sent() == [a[0], b[0], a[1]]


def test_a_rate_key_paces_starts_and_holds_the_rest(app, app_ctx, register, limits):
    limits(concurrency=50, flows={"paced": {"rate": "4/second"}})
    owner = register()
    ids = [str(jobs.create_job(uuid.UUID(owner.tenant["id"]), "demo.sleep", {"seconds": 0},
                               flow_keys=["paced"]).id) for _ in range(12)]
    jobs.commit_and_dispatch()
    horizon = max(1.0, app.config["JOB_RELAY_INTERVAL"] * 1.5)
    granted = len(sent())
    assert granted == int(horizon * 4) + 1  # starts 0.25 s apart, as far as the horizon
    etas = [json.loads(m)["headers"]["eta"] for m in reversed(redis_client().lrange("default", 0, -1))]
    assert etas[0] is None and all(etas[1:])
    assert sorted(etas[1:]) == etas[1:]
    assert {job(i).waiting_for for i in ids[granted:]} == {"paced"}
    next_at = db.session.get(FlowRate, "paced").next_at
    assert next_at > utcnow() + timedelta(seconds=horizon - 0.5)


def test_the_flow_limits_setting_is_checked():
    check_flow_limits({"smtp": {"rate": "10/second"}, "webhook-endpoint:*": {"concurrency": 2}})
    for bad in ({"smtp": {"rate": "fast"}}, {"x": {"concurrency": 0}}, {"x": {}},
                {"x*": {"concurrency": 1}}, {"x": {"burst": 3}}, []):
        with pytest.raises(ConfigError):
            check_flow_limits(bad)


def test_jobs_a_worker_queues_are_dispatched_at_its_commit(app_ctx, register, limits):
    limits(concurrency=1)
    owner = register()
    (parent,) = queue(owner.tenant["id"], 1)
    run = job_runs.claim(uuid.UUID(parent), "w1")
    child = jobs.create_job(uuid.UUID(owner.tenant["id"]), "demo.sleep", {"seconds": 0})
    job_runs.succeed(run, {"ok": True})  # the child commits with the parent's success
    assert sent() == [parent, str(child.id)]


def test_a_shallow_queue_keeps_the_backlog_in_the_outbox_where_tenants_take_turns(
        app_ctx, register, limits):
    limits(concurrency=5, flows={"queue:default": {"concurrency": 3}})
    busy, quiet = register(), register()
    backlog = queue(busy.tenant["id"], 10)
    assert sent() == backlog[:3]  # the broker holds 3; the rest wait in the database
    (mine,) = queue(quiet.tenant["id"], 1)
    assert job(mine).waiting_for == "queue:default"
    finish(backlog[0])
    # The freed place goes to the tenant with nothing running, not to the older backlog.
    assert sent() == backlog[:3] + [mine]


def test_a_new_job_queues_behind_jobs_already_waiting_for_its_key(app_ctx, register, limits):
    limits(concurrency=5, flows={"paced": {"rate": "2/second"}})
    first, second = register(), register()
    a = [str(jobs.create_job(uuid.UUID(first.tenant["id"]), "demo.sleep", {"seconds": 0},
                             flow_keys=["paced"]).id) for _ in range(5)]
    jobs.commit_and_dispatch()
    waiting = [i for i in a if job(i).waiting_for == "paced"]
    assert waiting  # the horizon's grants went out; the rest wait
    rate = db.session.get(FlowRate, "paced")
    rate.next_at = utcnow()  # time passes: the key has a start to give again
    db.session.commit()
    (b,) = [str(jobs.create_job(uuid.UUID(second.tenant["id"]), "demo.sleep", {"seconds": 0},
                                flow_keys=["paced"]).id)]
    jobs.commit_and_dispatch()
    # The free start is not the newcomer's to grab: it joins the queue, and turns decide.
    assert job(b).waiting_for == "paced"
    jobs.relay()
    assert b in sent()  # the second tenant never had the key: its turn comes first


def test_a_batch_takes_priorities_and_its_plan_limits_them(app_ctx, register, limits):
    limits(concurrency=1, max_priority="normal")
    owner = register()
    low = {"type": "demo.sleep", "payload": {"seconds": 0}, "priority": "low"}
    high = {**low, "priority": "high"}
    resp = owner.post("/api/v1/jobs/batch", json={"jobs": [low, high]})
    assert_error(resp, 422, "VALIDATION_ERROR")
    assert "priority" in resp.get_json()["details"]["fields"]["json"]["jobs"]["1"]
    limits(concurrency=1)
    resp = owner.post("/api/v1/jobs/batch", json={"jobs": [low, {**low, "priority": "normal"}, high]})
    assert resp.status_code == 202, resp.get_json()
    ids = [j["id"] for j in resp.get_json()["data"]]
    assert [j["priority"] for j in resp.get_json()["data"]] == ["low", "normal", "high"]
    assert sent() == [ids[2]]  # the one free slot goes to the high one
    assert job(ids[0]).waiting_for == "tenant"
