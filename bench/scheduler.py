"""The scheduler under a backlog: relay throughput, and a quiet tenant's latency.

1. Relay throughput: `--jobs` queued jobs spread over `--tenants` tenants wait
   in the outbox (slots to spare, so only the relay limits); the relay runs
   back to back until all are sent to Redis. Baseline: the same number of
   messages published by `send_task` alone, no ledger (what dispatch costs
   at the very least).
2. A quiet tenant while that backlog drains: the same backlog with the
   standard tier's 5 slots per tenant, a real worker (`-c 2`) and beat's relay
   draining it; a tenant with nothing queued creates one job, and another 2 s
   after that one started, and so on.
   Dispatch latency (created → handed to the broker) and start latency
   (created → running, behind whatever the broker already holds). Run twice:
   the broker as deep as all tenants' slots, then kept shallow by
   FLOW_LIMITS `queue:default` (`--depth`), so the backlog waits in the outbox.

Usage: python -m bench.scheduler [--jobs 10000] [--tenants 100] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import UNLIMITED, hub_stack, start_celery  # noqa: E402
from tests.support.processes import HubProcess, child_env, wait_until  # noqa: E402


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def _tenants(count: int) -> list[uuid.UUID]:
    from hub.extensions import db
    from hub.models import Tenant

    ids = [uuid.uuid4() for _ in range(count)]
    db.session.execute(Tenant.__table__.insert(), [
        {"id": t, "name": f"bench-{n}", "tier": "standard", "is_active": True} for n, t in enumerate(ids)])
    db.session.commit()
    return ids


def _backlog(tenants: list[uuid.UUID], jobs: int) -> None:
    """Queued, undispatched demo jobs, interleaved across tenants, as a bulk import leaves
    them: rows only (the create path is another benchmark's subject)."""
    from hub.extensions import db
    from hub.models import Job, utcnow

    old = utcnow() - timedelta(minutes=1)
    rows = [{"id": uuid.uuid4(), "tenant_id": tenants[n % len(tenants)], "type": "demo.sleep",
             "queue": "default", "status": "queued", "progress": 0, "message": "queued",
             "payload": {"seconds": 0}, "attempts": 0, "max_attempts": 3, "created_at": old,
             "updated_at": old, "waiting_for": "tenant", "flow_keys": ["queue:default"]}
            for n in range(jobs)]
    for start in range(0, len(rows), 2000):
        db.session.execute(Job.__table__.insert(), rows[start:start + 2000])
    db.session.commit()


def _clean(app, redis_url: str) -> None:
    import redis

    from hub.extensions import db

    with app.app_context():
        db.session.execute(db.text("DELETE FROM job_events; DELETE FROM jobs; DELETE FROM flow_turns; "
                                   "DELETE FROM tenants WHERE name LIKE 'bench-%'"))
        db.session.commit()
    redis.Redis.from_url(redis_url).flushdb()


def relay_throughput(stack: dict[str, Any], jobs: int, tenants: int, batch: int) -> dict[str, Any]:
    from hub import jobs as ledger

    app = stack["app"]
    app.config["JOB_TIER_LIMITS"] = {t: UNLIMITED for t in ("free", "standard", "enterprise")}
    with app.app_context():
        _backlog(_tenants(tenants), jobs)
        started, runs, sent = time.perf_counter(), 0, 0
        while sent < jobs:
            got = ledger.relay(batch=batch)["dispatched"]
            if not got:
                break
            sent, runs = sent + got, runs + 1
        took = time.perf_counter() - started
    # Baseline: the broker publishes alone, same count, same process.
    celery_app = app.extensions["celery"]
    with app.app_context():
        began = time.perf_counter()
        for _ in range(jobs):
            job_id = str(uuid.uuid4())
            celery_app.send_task("hub.jobs.run", args=[job_id], task_id=job_id, queue="baseline",
                                 ignore_result=True)
        raw = time.perf_counter() - began
    _clean(app, stack["redis_url"])
    return {"jobs": jobs, "tenants": tenants, "batch": batch, "relay_runs": runs, "sent": sent,
            "relay_jobs_per_s": round(sent / took), "raw_send_task_per_s": round(jobs / raw),
            "ratio": round((sent / took) / (jobs / raw), 3)}


def quiet_tenant(stack: dict[str, Any], jobs: int, tenants: int, probes: int,
                 depth: int | None, gap: float = 2.0) -> dict[str, Any]:
    from hub import jobs as ledger
    from hub.extensions import db
    from hub.models import Job

    app = stack["app"]
    tiers = {"free": {"rate": "1000000 per minute", "concurrency": 2},
             "standard": {"rate": "1000000 per minute", "concurrency": 5},
             "enterprise": {"rate": "1000000 per minute", "concurrency": 20}}
    flows = {**app.config["FLOW_LIMITS"], **({"queue:default": {"concurrency": depth}} if depth else {})}
    app.config.update(JOB_TIER_LIMITS=tiers, FLOW_LIMITS=flows)
    config = {**stack["config"], "JOB_TIER_LIMITS": tiers, "FLOW_LIMITS": flows,
              "JOB_RELAY_ENABLED": True, "JOB_RELAY_INTERVAL": 0.5, "JOB_DISPATCH_GRACE_SECONDS": 1}
    with app.app_context():
        backlog_tenants = _tenants(tenants)
        (quiet,) = _tenants(1)
        _backlog(backlog_tenants, jobs)
    worker = start_celery({**stack, "config": config}, "workers.celery_app", "default,maintenance",
                          "sched-bench", 2)
    beat = HubProcess("sched-beat", [sys.executable, "-m", "celery", "-A", "workers.celery_app", "beat",
                                     "--loglevel=WARNING"], child_env(config), stack["logs"])
    created: list[uuid.UUID] = []
    try:
        with app.app_context():
            def remaining() -> int:
                db.session.commit()
                return db.session.scalar(db.select(db.func.count()).select_from(Job).where(
                    Job.tenant_id != quiet, Job.status.in_(("queued", "running", "retrying"))))

            wait_until(lambda: remaining() < jobs - 50, 120, "the backlog to start draining")
            began, left_at_start = time.monotonic(), remaining()
            for _ in range(probes):
                if remaining() < jobs // 10:
                    break  # the backlog is nearly gone: later probes would measure an idle hub
                # Quiet: one job at a time, the next a while after the last one ran.
                job_id = ledger.create_job(quiet, "demo.sleep", {"seconds": 0}).id
                ledger.commit_and_dispatch()
                created.append(job_id)
                wait_until(lambda i=job_id: (db.session.commit() or
                                             db.session.get(Job, i).started_at is not None),
                           120, "a probe to start", interval=0.05)
                time.sleep(gap)
            left_at_end = remaining()
            wait_until(lambda: all(db.session.get(Job, i).status == "succeeded" for i in created),
                       120, "the quiet tenant's jobs", interval=0.5)
            db.session.commit()
            rows = [db.session.get(Job, i) for i in created]
            # dispatched_at of a job sent at once is stamped just before its created_at.
            dispatch = [max(0.0, (r.dispatched_at - r.created_at).total_seconds() * 1000) for r in rows]
            start = [(r.started_at - r.created_at).total_seconds() * 1000 for r in rows]
            drained = (left_at_start - left_at_end) / (time.monotonic() - began)
    finally:
        beat.stop()
        worker.stop()
    _clean(app, stack["redis_url"])
    return {"probes": len(created), "gap_s": gap, "backlog_jobs_per_s_while_probing": round(drained, 1),
            "dispatch_p50_ms": _pct(dispatch, 0.5), "dispatch_max_ms": _pct(dispatch, 1.0),
            "start_p50_ms": _pct(start, 0.5), "start_max_ms": _pct(start, 1.0),
            "slots_per_tenant": 5, "queue_depth": depth,
            "in_broker_at_most": min(5 * tenants, depth or 5 * tenants)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--depth", type=int, default=8,
                        help="FLOW_LIMITS queue:default concurrency of the second latency run")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with hub_stack() as stack:
        results = {"relay": relay_throughput(stack, args.jobs, args.tenants, 200),
                   "quiet_tenant": quiet_tenant(stack, args.jobs, args.tenants, args.probes, None),
                   "quiet_tenant_shallow": quiet_tenant(stack, args.jobs, args.tenants, args.probes,
                                                        args.depth)}
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results))


if __name__ == "__main__":
    main()
