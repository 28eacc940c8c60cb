"""Pipeline benchmarks, each against raw Celery on the same Redis in the same run.

- api_accept: POST /jobs through gunicorn (concurrent clients) vs raw apply_async.
- worker_throughput: no-op jobs through the ledger (claim, progress, events,
  socket emits) vs raw Celery no-op tasks with a result backend; same pool and
  concurrency, a burst released at once by pausing the queue consumer.
- end_to_end: submit → `job.updated` succeeded on a socket client, paced.
"""
from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench.stack import bench_user, start_api, start_celery
from tests.processes import wait_until

DEMO0 = {"type": "demo.sleep", "payload": {"seconds": 0}}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def api_accept(stack: dict[str, Any], n: int = 2000, clients: int = 16) -> dict[str, Any]:
    token, _ = bench_user(stack["app"])
    api, base = start_api(stack)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        def send(count: int) -> int:
            session, ok = requests.Session(), 0
            for _ in range(count):
                ok += session.post(base + "/api/v1/jobs", json=DEMO0, headers=headers,
                                   timeout=30).status_code == 202
            return ok

        send(50)  # warm up connections and caches
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            accepted = sum(pool.map(send, [n // clients] * clients))
        hub_rate = accepted / (time.perf_counter() - started)
    finally:
        api.stop()

    from bench import rawcelery

    rawcelery.noop.apply_async(ignore_result=True)  # connect first
    started = time.perf_counter()
    for _ in range(n):
        rawcelery.noop.apply_async(ignore_result=True)
    raw_rate = n / (time.perf_counter() - started)
    return {"hub_jobs_per_s": round(hub_rate, 1), "raw_apply_async_per_s": round(raw_rate, 1),
            "ratio": round(hub_rate / raw_rate, 4), "target_ratio": 0.5,
            "requests": n, "clients": clients, "accepted": accepted}


def _pause(celery_app, queue: str, worker: str) -> None:
    celery_app.control.cancel_consumer(queue, destination=[worker], reply=True, timeout=5)


def _resume(celery_app, queue: str, worker: str) -> None:
    celery_app.control.add_consumer(queue, destination=[worker], reply=True, timeout=5)


def _wait_ping(celery_app, name: str) -> str:
    return wait_until(lambda: next((h for r in celery_app.control.ping(timeout=0.5) for h in r
                                    if h.startswith(name + "@")), None), 60, f"worker {name}")


def worker_throughput(stack: dict[str, Any], n: int = 1000, concurrency: int = 2) -> dict[str, Any]:
    from sqlalchemy import func, select

    from hub import jobs
    from hub.extensions import db
    from hub.models import Job

    app = stack["app"]
    _, tenant_id = bench_user(app)
    hub_celery = app.extensions["celery"]
    worker = start_celery(stack, "workers.celery_app", "default", "benchhub", concurrency)
    try:
        host = _wait_ping(hub_celery, "benchhub")
        _pause(hub_celery, "default", host)
        with app.app_context():
            for _ in range(n):
                jobs.create_job(tenant_id, "demo.sleep", {"seconds": 0})
            jobs.commit()
        started = time.perf_counter()
        _resume(hub_celery, "default", host)
        with app.app_context():
            def done() -> bool:
                db.session.rollback()
                return db.session.scalar(select(func.count()).select_from(Job).where(
                    Job.status == "succeeded")) >= n
            wait_until(done, 600, "ledger jobs to finish", interval=0.05)
        hub_rate = n / (time.perf_counter() - started)
    finally:
        worker.stop()

    from bench import rawcelery

    raw = rawcelery.app
    raw_worker = start_celery(stack, "bench.rawcelery", "raw", "benchraw", concurrency)
    try:
        host = _wait_ping(raw, "benchraw")
        _pause(raw, "raw", host)
        results = [rawcelery.noop.apply_async() for _ in range(n)]
        started = time.perf_counter()
        _resume(raw, "raw", host)
        client = raw.backend.client
        wait_until(lambda: sum(1 for _ in client.scan_iter("celery-task-meta-*", count=1000)) >= n,
                   600, "raw tasks to finish", interval=0.05)
        raw_rate = n / (time.perf_counter() - started)
        assert all(r.ready() for r in results[-10:])
    finally:
        raw_worker.stop()
    return {"hub_jobs_per_s": round(hub_rate, 1), "raw_tasks_per_s": round(raw_rate, 1),
            "ratio": round(hub_rate / raw_rate, 4), "target_ratio": 0.5, "jobs": n,
            "pool": "prefork", "concurrency": concurrency}


def end_to_end(stack: dict[str, Any], rate: float = 100.0, seconds: float = 10.0) -> dict[str, Any]:
    from tests.socket_client import RecordingClient

    token, _ = bench_user(stack["app"])
    api, base = start_api(stack)
    worker = start_celery(stack, "workers.celery_app", "default", "benche2e", 2)
    sock = None
    try:
        _wait_ping(stack["app"].extensions["celery"], "benche2e")
        received: dict[str, float] = {}
        sock = RecordingClient(base, token)
        sock.sio.on("job.updated", lambda d: d["status"] == "succeeded"
                    and received.setdefault(d["id"], time.perf_counter()))
        sent: dict[str, float] = {}
        lock = threading.Lock()
        headers = {"Authorization": f"Bearer {token}"}
        local = threading.local()

        def submit(at: float) -> None:
            time.sleep(max(0.0, at - time.perf_counter()))
            session = getattr(local, "s", None) or requests.Session()
            local.s = session
            t0 = time.perf_counter()
            resp = session.post(base + "/api/v1/jobs", json=DEMO0, headers=headers, timeout=30)
            if resp.status_code == 202:
                with lock:
                    sent[resp.json()["data"]["id"]] = t0

        total = int(rate * seconds)
        start = time.perf_counter() + 0.5
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(submit, [start + i / rate for i in range(total)]))
        wait_until(lambda: len(set(sent) & set(received)) >= len(sent), 120,
                   "every job's succeeded event", interval=0.05)
        latencies = sorted((received[j] - t0) * 1000 for j, t0 in sent.items())
    finally:
        if sock is not None:
            sock.close()
        worker.stop()
        api.stop()
    return {"jobs": len(latencies), "paced_per_s": rate,
            "p50_ms": round(_pct(latencies, 0.50), 1), "p95_ms": round(_pct(latencies, 0.95), 1),
            "p99_ms": round(_pct(latencies, 0.99), 1), "max_ms": round(latencies[-1], 1),
            "mean_ms": round(statistics.fmean(latencies), 1),
            "target": {"p50_ms": 15, "p99_ms": 50}, "latencies_ms": latencies}
