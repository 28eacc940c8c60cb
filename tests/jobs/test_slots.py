"""Tenant slots as the API reserves them: up front in the new row, confirmed under the
tenant's lock at commit. Real PostgreSQL, concurrent sessions, no worker."""
from __future__ import annotations

import threading
import uuid

from sqlalchemy import func, select

from hub import jobs
from hub.extensions import db
from hub.models import Job
from hub.models.job import IN_FLIGHT_SQL

DEMO = {"seconds": 1}


def _in_flight(tenant_id) -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(Job).where(
        Job.tenant_id == tenant_id, db.text(IN_FLIGHT_SQL)))


def test_concurrent_creates_never_exceed_the_tenants_slots(app, app_ctx, register):
    tiers = app.config["JOB_TIER_LIMITS"]
    app.config["JOB_TIER_LIMITS"] = {**tiers, "standard": {"rate": "1000 per minute",
                                                           "concurrency": 3}}
    tenant_id = uuid.UUID(register().tenant["id"])
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def create(count: int) -> None:
        try:
            with app.app_context():
                start.wait(10)
                for _ in range(count):
                    jobs.create_job(tenant_id, "demo.sleep", DEMO)
                    jobs.commit_and_dispatch()
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=create, args=(3,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        app.config["JOB_TIER_LIMITS"] = tiers
    assert not errors
    rows = db.session.execute(select(Job.status, Job.dispatched_at).where(
        Job.tenant_id == tenant_id)).all()
    assert len(rows) == 24  # nothing accepted is lost
    assert _in_flight(tenant_id) == 3  # exactly the tier's slots, never more
    assert sum(1 for r in rows if r.dispatched_at is None and r.status == "queued") == 21


def test_a_batch_over_the_limit_keeps_the_excess_in_the_outbox(app, app_ctx, register):
    tiers = app.config["JOB_TIER_LIMITS"]
    app.config["JOB_TIER_LIMITS"] = {**tiers, "standard": {"rate": "1000 per minute",
                                                           "concurrency": 2}}
    try:
        tenant_id = uuid.UUID(register().tenant["id"])
        created = [jobs.create_job(tenant_id, "demo.sleep", DEMO).id for _ in range(5)]
        jobs.commit_and_dispatch()
    finally:
        app.config["JOB_TIER_LIMITS"] = tiers
    dispatched = {job_id for job_id, at in db.session.execute(
        select(Job.id, Job.dispatched_at).where(Job.id.in_(created))) if at is not None}
    assert dispatched == set(created[:2])  # the oldest two hold the slots


def test_a_job_committed_without_the_ledger_commit_waits_for_the_relay(app_ctx, register):
    tenant_id = uuid.UUID(register().tenant["id"])
    job_id = jobs.create_job(tenant_id, "demo.sleep", DEMO).id
    db.session.commit()  # not jobs.commit_and_dispatch(): nothing was sent, so no slot may stay reserved
    assert db.session.get(Job, job_id).dispatched_at is None
    assert _in_flight(tenant_id) == 0


def test_the_created_job_is_answered_as_written_without_a_read_back(app_ctx, register):
    owner = register()
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = db.engine
    db.event.listen(engine, "before_cursor_execute", record)
    try:
        resp = owner.post("/api/v1/jobs", json={"type": "demo.sleep", "payload": DEMO})
    finally:
        db.event.remove(engine, "before_cursor_execute", record)
    assert resp.status_code == 202
    body = resp.get_json()["data"]
    assert body["status"] == "queued" and body["created_at"] and body["updated_at"]
    assert not [s for s in statements if s.lstrip().upper().startswith("SELECT JOBS.")]
