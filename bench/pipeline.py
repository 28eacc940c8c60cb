"""Pipeline benchmarks, each against raw Celery on the same Redis in the same run.

- api_accept: POST /jobs through gunicorn (concurrent keep-alive clients) vs raw
  `apply_async` of a no-op from one process.
- worker_throughput: no-op jobs through the ledger (claim, progress, events,
  socket emits) vs raw Celery no-op tasks with a result backend; same pool and
  concurrency, a burst released at once by pausing the queue consumer.
- end_to_end: submit → `job.updated` succeeded on a socket client, paced.

Every phase starts from an empty broker and an empty ledger (`reset`), so no
phase drains another's leftovers. Nothing fails silently: every answer other
than 202 and every client error is counted and reported.
"""
from __future__ import annotations

import collections
import http.client
import json
import select
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from bench.cpu import CpuMeter, this_process, trees
from bench.stack import bench_user, start_api, start_celery
from tests.support.processes import wait_until

DEMO0 = json.dumps({"type": "demo.sleep", "payload": {"seconds": 0}}).encode()
POLL = 0.02  # both sides of a throughput run are polled alike, one cheap query per poll


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def reset(stack: dict[str, Any]) -> None:
    """Empty the broker (queues, results, limits) and the job ledger between phases."""
    from sqlalchemy import text

    from hub.extensions import db, redis_client

    app = stack["app"]
    with app.app_context():
        redis_client().flushdb()
        db.session.execute(text("TRUNCATE jobs, job_events, audit_events, demo_effects CASCADE"))
        db.session.commit()


def _dropped(sock) -> bool:
    """True if an idle connection was closed by the server (readable means EOF here)."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


class Poster:
    """One keep-alive HTTP/1.1 connection that POSTs jobs, as a client library would.

    http.client rather than requests: the load generator shares the machine's
    two cores with the hub, and requests spends several times more CPU per call.
    """

    def __init__(self, base: str, token: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.conn is not None and self.conn.sock is not None and _dropped(self.conn.sock):
            self.conn.close()  # the server closed it while idle (keep-alive timeout), as urllib3 checks
            self.conn = None
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            self.conn.request("POST", path, body=body, headers=self.headers)
            resp = self.conn.getresponse()
            return resp.status, resp.read()
        except Exception:
            self.conn.close()
            self.conn = None
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class Tally:
    """Status codes and errors of a run, with a few sample bodies of each failure."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: collections.Counter[str] = collections.Counter()
        self.samples: dict[str, str] = {}

    def add(self, outcome: str, sample: str = "") -> None:
        with self.lock:
            self.statuses[outcome] += 1
            if sample and outcome not in self.samples:
                self.samples[outcome] = sample[:300]

    def report(self, ok: str = "202") -> dict[str, Any]:
        return {"statuses": dict(self.statuses), "failed": sum(v for k, v in self.statuses.items()
                                                               if k != ok),
                "failure_samples": self.samples}


def _post_jobs(stack: dict[str, Any], path: str, body: bytes, per_request: int, requests: int,
               clients: int) -> dict[str, Any]:
    """POST `body` `requests` times from `clients` keep-alive connections through gunicorn;
    the accepted jobs per second and the CPU per job of every process involved."""
    from sqlalchemy import func, select

    from hub.extensions import db
    from hub.models import Job

    reset(stack)
    token, tenant_id = bench_user(stack["app"])
    api, base = start_api(stack)
    tally = Tally()
    shares = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]
    try:
        def send(count: int, record: bool = True) -> None:
            poster = Poster(base, token)
            try:
                for _ in range(count):
                    try:
                        status, answer = poster.post(path, body)
                    except Exception as exc:  # noqa: BLE001 - counted, never dropped
                        if record:
                            tally.add(type(exc).__name__, repr(exc))
                        continue
                    if record:
                        tally.add(str(status), "" if status == 202 else answer.decode(errors="replace"))
            finally:
                poster.close()

        warm_up = max(1, 100 // per_request // clients)
        with ThreadPoolExecutor(clients) as pool:  # warm up connections, caches, workers
            list(pool.map(lambda c: send(c, record=False), [warm_up] * clients))
        meter = CpuMeter(api=trees(lambda: [api.pid]), postgres=trees(stack["postgres_pids"]),
                         redis=trees(stack["redis_pids"]), client=this_process())
        meter.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(send, shares))
        seconds = time.perf_counter() - started
        jobs = tally.statuses.get("202", 0) * per_request
        hub_cpu = meter.per_item(jobs)
    finally:
        api.stop()
    with stack["app"].app_context():
        in_ledger = db.session.scalar(select(func.count()).select_from(Job).where(
            Job.tenant_id == tenant_id)) or 0
    reset(stack)
    return {"hub_jobs_per_s": round(jobs / seconds, 1), "hub_cpu_ms_per_job": hub_cpu,
            "requests": requests, "jobs_per_request": per_request, "clients": clients,
            "accepted": jobs, "jobs_in_ledger": in_ledger, **tally.report()}


def _raw_apply_async(stack: dict[str, Any], n: int) -> tuple[float, dict[str, float]]:
    """Raw Celery's publish rate from one process, and its CPU per task."""
    from bench import rawcelery

    reset(stack)
    rawcelery.noop.apply_async(ignore_result=True)  # connect first
    meter = CpuMeter(client=this_process(), redis=trees(stack["redis_pids"]))
    meter.start()
    started = time.perf_counter()
    for _ in range(n):
        rawcelery.noop.apply_async(ignore_result=True)
    rate = n / (time.perf_counter() - started)
    cpu = meter.per_item(n)
    reset(stack)
    return rate, cpu


def _versus_raw(hub: dict[str, Any], raw_rate: float, raw_cpu: dict[str, float],
                target: float) -> dict[str, Any]:
    rate, cpu = hub.pop("hub_jobs_per_s"), hub.pop("hub_cpu_ms_per_job")
    return {"hub_jobs_per_s": rate, "raw_apply_async_per_s": round(raw_rate, 1),
            "ratio": round(rate / raw_rate, 4), "target_ratio": target, **hub,
            **_cpu_figures(cpu, raw_cpu)}


def api_accept(stack: dict[str, Any], n: int = 2000, clients: int = 8) -> dict[str, Any]:
    """POST /jobs, one job per request, against raw `apply_async` from one process."""
    hub = _post_jobs(stack, "/api/v1/jobs", DEMO0, 1, n, clients)
    return _versus_raw(hub, *_raw_apply_async(stack, n), target=0.25)


def bulk_accept(stack: dict[str, Any], n: int = 20000, batch: int = 500,
                clients: int = 2) -> dict[str, Any]:
    """POST /jobs/batch of `batch` jobs each, against raw `apply_async` of as many tasks."""
    body = json.dumps({"jobs": [json.loads(DEMO0)] * batch}).encode()
    hub = _post_jobs(stack, "/api/v1/jobs/batch", body, batch, max(clients, n // batch), clients)
    return _versus_raw(hub, *_raw_apply_async(stack, n), target=1.0)


def _cpu_figures(hub: dict[str, float], raw: dict[str, float]) -> dict[str, Any]:
    """CPU milliseconds per job on each side, by process group, and the rate ratio
    those costs allow: what the hub would reach if CPU were the only limit."""
    return {"hub_cpu_ms_per_job": hub, "raw_cpu_ms_per_task": raw,
            "cpu_bound_ratio": round(raw["total"] / hub["total"], 4) if hub["total"] else None}


def _pause(celery_app, queue: str, worker: str) -> None:
    celery_app.control.cancel_consumer(queue, destination=[worker], reply=True, timeout=5)


def _resume(celery_app, queue: str, worker: str) -> None:
    celery_app.control.add_consumer(queue, destination=[worker], reply=True, timeout=5)


def _wait_ping(celery_app, name: str) -> str:
    return wait_until(lambda: next((h for r in celery_app.control.ping(timeout=0.5) for h in r
                                    if h.startswith(name + "@")), None), 60, f"worker {name}")


def _time_burst(release, finished, n: int, what: str, timeout: float = 600) -> float:
    """Seconds from `release()` until `finished()` counts n, polled every POLL seconds."""
    started = time.perf_counter()
    release()
    wait_until(lambda: finished() >= n, timeout, what, interval=POLL)
    return time.perf_counter() - started


def worker_throughput(stack: dict[str, Any], n: int = 1000, concurrency: int = 2) -> dict[str, Any]:
    from sqlalchemy import func, select

    from hub import jobs
    from hub.extensions import db
    from hub.models import Job

    reset(stack)
    app = stack["app"]
    _, tenant_id = bench_user(app)
    hub_celery = app.extensions["celery"]
    worker = start_celery(stack, "workers.celery_app", "default", "benchhub", concurrency)
    try:
        host = _wait_ping(hub_celery, "benchhub")
        _pause(hub_celery, "default", host)
        with app.app_context():
            for start in range(0, n, 100):
                for _ in range(min(100, n - start)):
                    jobs.create_job(tenant_id, "demo.sleep", {"seconds": 0})
                jobs.commit_and_dispatch()

            def succeeded() -> int:
                # One index-only count per poll (ix_jobs_relay leads with status).
                db.session.rollback()
                return db.session.scalar(select(func.count()).select_from(Job).where(
                    Job.status == "succeeded")) or 0

            meter = CpuMeter(worker=trees(lambda: [worker.pid]),
                             postgres=trees(stack["postgres_pids"]), redis=trees(stack["redis_pids"]))
            meter.start()
            hub_seconds = _time_burst(lambda: _resume(hub_celery, "default", host), succeeded, n,
                                      "ledger jobs to finish")
            hub_cpu = meter.per_item(n)
            statuses = dict(db.session.execute(select(Job.status, func.count()).group_by(Job.status))
                            .all())
    finally:
        worker.stop()
    reset(stack)

    from bench import rawcelery

    raw = rawcelery.app
    raw_worker = start_celery(stack, "bench.rawcelery", "raw", "benchraw", concurrency)
    try:
        host = _wait_ping(raw, "benchraw")
        _pause(raw, "raw", host)
        keys = [raw.backend.get_key_for_task(r.id) for r in
                (rawcelery.noop.apply_async() for _ in range(n))]
        client = raw.backend.client
        # One EXISTS over every result key per poll: a single round trip, like the hub's count.
        meter = CpuMeter(worker=trees(lambda: [raw_worker.pid]), redis=trees(stack["redis_pids"]))
        meter.start()
        raw_seconds = _time_burst(lambda: _resume(raw, "raw", host), lambda: client.exists(*keys), n,
                                  "raw tasks to finish")
        raw_cpu = meter.per_item(n)
    finally:
        raw_worker.stop()
    reset(stack)
    hub_rate, raw_rate = n / hub_seconds, n / raw_seconds
    return {"hub_jobs_per_s": round(hub_rate, 1), "raw_tasks_per_s": round(raw_rate, 1),
            "ratio": round(hub_rate / raw_rate, 4), "target_ratio": 0.5, "jobs": n,
            **_cpu_figures(hub_cpu, raw_cpu),
            "pool": "prefork", "concurrency": concurrency, "hub_job_statuses": statuses}


def end_to_end(stack: dict[str, Any], rate: float = 20.0, seconds: float = 10.0) -> dict[str, Any]:
    from tests.support.socket_client import RecordingClient

    reset(stack)
    token, _ = bench_user(stack["app"])
    api, base = start_api(stack)
    worker = start_celery(stack, "workers.celery_app", "default", "benche2e", 2)
    sock = None
    tally = Tally()
    try:
        _wait_ping(stack["app"].extensions["celery"], "benche2e")
        received: dict[str, float] = {}
        sock = RecordingClient(base, token)
        sock.sio.on("job.updated", lambda d: d["status"] == "succeeded"
                    and received.setdefault(d["id"], time.perf_counter()))
        sent: dict[str, float] = {}
        lock = threading.Lock()
        local = threading.local()

        def submit(at: float) -> None:
            time.sleep(max(0.0, at - time.perf_counter()))
            poster = getattr(local, "poster", None) or Poster(base, token)
            local.poster = poster
            t0 = time.perf_counter()
            try:
                status, body = poster.post("/api/v1/jobs", DEMO0)
            except Exception as exc:  # noqa: BLE001 - counted, never dropped
                tally.add(type(exc).__name__, repr(exc))
                return
            tally.add(str(status), "" if status == 202 else body.decode(errors="replace"))
            if status == 202:
                with lock:
                    sent[json.loads(body)["data"]["id"]] = t0

        total = int(rate * seconds)
        start = time.perf_counter() + 0.5
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(submit, [start + i / rate for i in range(total)]))
        submit_seconds = time.perf_counter() - start
        try:
            wait_until(lambda: len(set(sent) & set(received)) >= len(sent), 120,
                       "every job's succeeded event", interval=0.05)
        except AssertionError:
            pass  # reported below as missing events
        latencies = sorted((received[j] - t0) * 1000 for j, t0 in sent.items() if j in received)
    finally:
        if sock is not None:
            sock.close()
        worker.stop()
        api.stop()
    reset(stack)
    return {"jobs": len(sent), "paced_per_s": rate, "submitted": total,
            "submit_seconds": round(submit_seconds, 2),
            "missing_events": len(sent) - len(latencies),
            "p50_ms": round(_pct(latencies, 0.50), 1), "p95_ms": round(_pct(latencies, 0.95), 1),
            "p99_ms": round(_pct(latencies, 0.99), 1),
            "max_ms": round(latencies[-1], 1) if latencies else None,
            "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
            "target": {"p50_ms": 15, "p99_ms": 50}, "latencies_ms": latencies, **tally.report()}


def tier_burst(stack: dict[str, Any], n: int = 60, tier: str = "standard") -> dict[str, Any]:
    """`n` jobs at once from one tenant on a tier's own limits (not the benchmark's
    unlimited ones), then one job of another tenant: how long the burst takes to
    drain, and how long the other tenant waits behind it. One worker `-c 2` and
    beat's relay at its default interval, as `make run` starts them."""
    from sqlalchemy import func, select

    from hub.config import SETTINGS
    from hub.extensions import db
    from hub.models import Job
    from tests.support.processes import start_beat

    reset(stack)
    config = {k: v for k, v in stack["config"].items() if k != "JOB_TIER_LIMITS"}
    config["JOB_RELAY_ENABLED"] = True
    local = {**stack, "config": config}
    busy_token, busy_tenant = bench_user(stack["app"], tier)
    other_token, other_tenant = bench_user(stack["app"], tier)
    api, base = start_api(local)
    # The relay is a maintenance task: this worker runs it too, as `make run`'s does.
    worker = start_celery(local, "workers.celery_app", "default,maintenance", "benchburst", 2)
    beat = start_beat(config, stack["logs"])
    app = stack["app"]
    try:
        _wait_ping(app.extensions["celery"], "benchburst")
        burst = json.dumps({"jobs": [json.loads(DEMO0)] * n}).encode()
        busy, other = Poster(base, busy_token), Poster(base, other_token)
        started = time.perf_counter()
        status, body = busy.post("/api/v1/jobs/batch", burst)
        assert status == 202, body[:300]
        status, body = other.post("/api/v1/jobs", DEMO0)
        assert status == 202, body[:300]
        other_sent = time.perf_counter()
        other_id = json.loads(body)["data"]["id"]
        done: dict[str, float] = {}

        def check() -> bool:
            with app.app_context():
                if "other" not in done and db.session.scalar(
                        select(Job.status).where(Job.id == other_id)) == "succeeded":
                    done["other"] = time.perf_counter()
                if "busy" not in done and (db.session.scalar(select(func.count()).select_from(Job).where(
                        Job.tenant_id == busy_tenant, Job.status == "succeeded")) or 0) >= n:
                    done["busy"] = time.perf_counter()
            return len(done) == 2

        wait_until(check, 300, "the burst and the other tenant's job to finish", interval=POLL)
    finally:
        busy.close()
        other.close()
        beat.stop()
        worker.stop()
        api.stop()
    reset(stack)
    limits = SETTINGS["JOB_TIER_LIMITS"][1][tier]
    return {"jobs": n, "tier": tier, "tier_concurrency": limits["concurrency"],
            "relay_interval_s": SETTINGS["JOB_RELAY_INTERVAL"][1],
            "drain_s": round(done["busy"] - started, 2),
            "other_tenant_latency_s": round(done["other"] - other_sent, 3),
            "target": {"drain_s": 3.0, "other_tenant_latency_s": 1.0},
            "other_tenant_id": str(other_tenant)}
