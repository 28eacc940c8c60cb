"""Chaos run: jobs keep flowing while workers, Redis, PostgreSQL and the API are killed.

    python scripts/chaos.py [--jobs 2000] [--workers 2]      (or: make chaos)

Starts a private PostgreSQL and Redis, the API under gunicorn, workers and beat;
submits `demo.sleep` jobs with `record: true` over HTTP (each with an
Idempotency-Key, retried until accepted), and meanwhile SIGKILLs a worker three
times and restarts Redis, PostgreSQL and the API once each. At the end every
job must have succeeded and every job's side effect (a `demo_effects` row
written in the transaction that marks the job succeeded) must exist exactly
once. It prints the counts and exits non-zero if any check fails.

tests/fault/test_chaos.py runs the same code with 150 jobs and one fault of
each kind against the test suite's own services.
"""
from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from localservices import PostgresServer, RedisServer, free_port  # noqa: E402

from tests.support.processes import HubProcess, start_beat, start_gunicorn, start_worker, wait_until  # noqa: E402

# Short leases and a fast relay so recovery takes seconds; limits out of the way.
CHAOS_SETTINGS: dict[str, Any] = {
    "JOB_LEASE_SECONDS": 4,
    "JOB_RELAY_INTERVAL": 0.5,
    "JOB_DISPATCH_GRACE_SECONDS": 1,
    "JOB_REDISPATCH_SECONDS": 15,  # messages lost with Redis's memory are sent again
    "JOB_TIER_LIMITS": {tier: {"rate": "1000000 per minute", "concurrency": 8}
                        for tier in ("free", "standard", "enterprise")},
    "API_RATE_LIMIT": "1000000 per minute",
    "LOGIN_RATE_LIMIT_IP": "1000 per minute",
    "LOGIN_RATE_LIMIT_ACCOUNT": "1000 per minute",
    "EMAIL_WELCOME_ENABLED": False,
    "LOG_LEVEL": "WARNING",
}
FULL_PLAN = ["worker", "redis", "worker", "postgres", "api", "worker"]
SHORT_PLAN = ["worker", "redis", "postgres", "api"]
JOB_SECONDS = 0.2
REQUEST_TIMEOUT = 20.0  # longer than this is a hang


@dataclass
class Report:
    submitted: int = 0
    accepted: int = 0
    succeeded: int = 0
    not_succeeded: dict[str, int] = field(default_factory=dict)
    lost: int = 0
    missing_effects: int = 0
    duplicated_effects: int = 0
    executions_started: int = 0
    responses: Counter = field(default_factory=Counter)
    recoveries: dict[str, float] = field(default_factory=dict)
    crashed: list[str] = field(default_factory=list)

    @property
    def bad_responses(self) -> int:
        """Answers an outage must not produce: hangs, 5xx other than 503, and 409 (a retry with
        the same Idempotency-Key locked out as "still in progress" by a request that died)."""
        return sum(n for k, n in self.responses.items()
                   if k in ("hang", "409") or (k.isdigit() and int(k) >= 500 and k != "503"))

    @property
    def ok(self) -> bool:
        return (self.accepted == self.submitted == self.succeeded and self.lost == 0
                and self.missing_effects == 0 and self.duplicated_effects == 0
                and self.bad_responses == 0 and not self.crashed)

    def lines(self) -> list[str]:
        worst = max(self.recoveries.values(), default=0.0)
        return [
            f"submitted            {self.submitted}",
            f"accepted (202)       {self.accepted}",
            f"succeeded            {self.succeeded}",
            f"not succeeded        {self.not_succeeded or 0}",
            f"lost                 {self.lost}",
            f"missing side effects {self.missing_effects}",
            f"duplicated effects   {self.duplicated_effects}",
            f"attempts started     {self.executions_started} (re-runs after faults: "
            f"{self.executions_started - self.succeeded})",
            f"responses            {dict(sorted(self.responses.items()))}",
            f"hangs, 409, 5xx≠503  {self.bad_responses}",
            f"recovery (s)         {', '.join(f'{k} {v:.1f}' for k, v in self.recoveries.items())}",
            f"max recovery (s)     {worst:.1f}",
            f"crashed processes    {self.crashed or 'none'}",
            f"result               {'OK' if self.ok else 'FAILED'}",
        ]


class Rig:
    """The hub's processes around a PostgreSQL and a Redis this run may restart."""

    def __init__(self, config: dict[str, Any], log_dir: Path, pg: PostgresServer, redis: RedisServer,
                 workers: int = 2) -> None:
        self.config = {**config, **CHAOS_SETTINGS}
        self.log_dir, self.pg, self.redis = log_dir, pg, redis
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.worker_count = workers
        self.workers: list[HubProcess] = []
        self.api: HubProcess | None = None
        self.beat: HubProcess | None = None
        self.engine = create_engine(self.config["DATABASE_URL"], pool_pre_ping=True)

    def start(self) -> None:
        self.start_api()
        for _ in range(self.worker_count):
            self.start_worker()
        self.beat = start_beat(self.config, self.log_dir)

    def start_api(self) -> None:
        self.api = start_gunicorn(self.config, self.log_dir, self.port)
        wait_until(lambda: requests.get(self.base + "/health/live", timeout=2).ok, 60,
                   "the API to answer", proc=self.api.proc)

    def start_worker(self) -> HubProcess:
        worker = start_worker(self.config, self.log_dir, name=f"chaos-{uuid.uuid4().hex[:6]}")
        wait_until(lambda: "ready." in worker.log_path.read_text(errors="replace"), 90,
                   f"worker {worker.name} to be ready", proc=worker.proc)
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for proc in [*self.workers, self.beat, self.api]:
            if proc is not None:
                proc.stop()
        self.engine.dispose()

    def crashed(self) -> list[str]:
        procs = [*self.workers, self.beat, self.api]
        return [f"{p.name} (exit {p.proc.returncode})" for p in procs
                if p is not None and p.proc.poll() is not None]

    # --- faults ---------------------------------------------------------------

    def fault(self, kind: str) -> None:
        if kind == "worker":
            victim = random.choice(self.workers)
            self.workers.remove(victim)
            victim.kill()  # SIGKILL: in-flight attempts just stop renewing their leases
            self.start_worker()
        elif kind == "redis":
            self.redis.restart()  # and its memory is gone: queued messages too
        elif kind == "postgres":
            self.pg.stop()
            time.sleep(2)
            self.pg.start()
        elif kind == "api":
            assert self.api is not None
            self.api.stop()
            self.start_api()
        else:
            raise ValueError(kind)

    def count(self, sql: str, **params: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(sql), params).scalar() or 0)


class Submitter:
    """Threads that submit jobs over HTTP until each is accepted, counting every answer."""

    def __init__(self, rig: Rig, api_key: str, total: int, threads: int = 4) -> None:
        self.rig, self.api_key, self.total = rig, api_key, total
        self.run_id = uuid.uuid4().hex[:8]
        self.next = itertools.count()
        self.accepted: dict[int, str] = {}
        self.responses: Counter = Counter()
        self.lock = threading.Lock()
        # Submissions stop at the gate until the next fault begins, so every fault
        # lands while requests are in flight (not after the last one was accepted).
        self.gate = threading.Condition(self.lock)
        self.allowed = total
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(threads)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))

    @property
    def done(self) -> int:
        with self.lock:
            return len(self.accepted)

    def open_until(self, limit: int) -> None:
        with self.gate:
            self.allowed = limit
            self.gate.notify_all()

    def _work(self) -> None:
        session = requests.Session()
        while (i := next(self.next)) < self.total:
            with self.gate:
                self.gate.wait_for(lambda: i < self.allowed)
            job_id = self._submit(session, i)
            if job_id:
                with self.lock:
                    self.accepted[i] = job_id

    def _submit(self, session: requests.Session, i: int) -> str | None:
        body = {"type": "demo.sleep", "payload": {"seconds": JOB_SECONDS, "record": True}}
        headers = {"X-API-Key": self.api_key, "Idempotency-Key": f"chaos-{self.run_id}-{i}"}
        give_up = time.monotonic() + 180
        while time.monotonic() < give_up:
            try:
                resp = session.post(self.rig.base + "/api/v1/jobs", json=body, headers=headers,
                                    timeout=REQUEST_TIMEOUT)
                outcome = str(resp.status_code)
            except requests.Timeout:
                outcome = "hang"
            except requests.ConnectionError:
                outcome = "connection refused"  # the API process itself is down or restarting
                session = requests.Session()
            with self.lock:
                self.responses[outcome] += 1
            if outcome == "202":
                return resp.json()["data"]["id"]
            if outcome == "503":
                assert resp.json()["code"] == "SERVICE_UNAVAILABLE"
            time.sleep(0.5)
        return None


def _account(rig: Rig) -> str:
    """A tenant and an admin API key, made through the API."""
    email = f"chaos-{uuid.uuid4().hex[:8]}@example.com"
    reg = requests.post(rig.base + "/api/v1/auth/register", timeout=30, json={
        "tenant_name": "Chaos", "name": "Chaos", "email": email, "password": "chaos-monkey-password"})
    reg.raise_for_status()
    token = reg.json()["data"]["access_token"]
    key = requests.post(rig.base + "/api/v1/api-keys", timeout=30, json={"name": "chaos", "role": "admin"},
                        headers={"Authorization": f"Bearer {token}"})
    key.raise_for_status()
    return key.json()["data"]["key"]


def _measure_recovery(rig: Rig, kind: str, before: int, timeout: float) -> float:
    """Seconds from the fault until the API answers and one more job has succeeded."""
    started = time.monotonic()

    def recovered() -> bool:
        if not requests.get(rig.base + "/health/ready", timeout=5).ok:
            return False
        return rig.count("SELECT count(*) FROM jobs WHERE status = 'succeeded'") > before

    wait_until(recovered, timeout, f"the hub to recover from the {kind} fault", interval=0.2)
    return time.monotonic() - started


def run(rig: Rig, jobs: int, plan: list[str], finish_timeout: float = 600,
        log=print) -> Report:
    """Submit `jobs`, apply `plan`'s faults spread over the submission, check the outcome."""
    report = Report(submitted=jobs)
    submitter = Submitter(rig, _account(rig), jobs)
    started = time.monotonic()
    thresholds = [jobs * n // (len(plan) + 1) for n in range(1, len(plan) + 1)] + [jobs]
    submitter.open_until(thresholds[0])
    submitter.start()
    for n, kind in enumerate(plan, start=1):
        threshold = thresholds[n - 1]
        wait_until(lambda t=threshold: submitter.done >= t, finish_timeout, f"{threshold} jobs accepted",
                   interval=0.05)
        submitter.open_until(thresholds[n])  # the next batch goes out during this fault
        before = rig.count("SELECT count(*) FROM jobs WHERE status = 'succeeded'")
        log(f"[{time.monotonic() - started:6.1f}s] {submitter.done}/{jobs} accepted, "
            f"{before} succeeded: fault {n}/{len(plan)}: {kind}")
        fault_started = time.monotonic()
        rig.fault(kind)
        spent = time.monotonic() - fault_started
        recovery = spent + _measure_recovery(rig, kind, before, finish_timeout)
        key = kind if kind not in report.recoveries else f"{kind}#{n}"
        report.recoveries[key] = recovery
        log(f"[{time.monotonic() - started:6.1f}s] recovered from {kind} in {recovery:.1f} s")
    submitter.join(finish_timeout)
    report.accepted = len(submitter.accepted)
    report.responses = submitter.responses
    ids = list(submitter.accepted.values())
    log(f"[{time.monotonic() - started:6.1f}s] all {report.accepted} accepted; waiting for them to finish")

    finished = "status IN ('succeeded', 'failed', 'cancelled')"
    try:
        # Only this run's jobs: the database may hold finished jobs of earlier runs or tests.
        wait_until(lambda: rig.count(f"SELECT count(*) FROM jobs WHERE {finished} "
                                     "AND id = ANY(CAST(:ids AS uuid[]))", ids=ids) >= report.accepted,
                   finish_timeout, "every job to finish", interval=0.5)
    except AssertionError as exc:
        log(str(exc))
    _tally(rig, report, ids)
    report.crashed = rig.crashed()
    log(f"[{time.monotonic() - started:6.1f}s] done")
    return report


def _tally(rig: Rig, report: Report, ids: list[str]) -> None:
    with rig.engine.connect() as conn:
        statuses = Counter(dict(conn.execute(text(
            "SELECT status, count(*) FROM jobs WHERE id = ANY(CAST(:ids AS uuid[])) GROUP BY status"),
            {"ids": ids}).all()))
        effects = dict(conn.execute(text(
            "SELECT j.id, count(e.job_id) FROM jobs j LEFT JOIN demo_effects e ON e.job_id = j.id "
            "WHERE j.id = ANY(CAST(:ids AS uuid[])) GROUP BY j.id"), {"ids": ids}).all())
        report.executions_started = int(conn.execute(text(
            "SELECT coalesce(sum(attempts), 0) FROM jobs WHERE id = ANY(CAST(:ids AS uuid[]))"),
            {"ids": ids}).scalar())
    report.succeeded = statuses.pop("succeeded", 0)
    report.not_succeeded = dict(statuses)
    report.lost = report.submitted - report.succeeded
    report.missing_effects = sum(1 for n in effects.values() if n == 0) + (len(ids) - len(effects))
    report.duplicated_effects = sum(n - 1 for n in effects.values() if n > 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--short", action="store_true", help="one fault of each kind instead of six")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="hub-chaos-") as tmp:
        # The postgres user must reach the cluster's dir; otherwise (running as root)
        # PostgresServer picks a fresh private dir on every start, and the restart
        # would come back as an empty cluster.
        os.chmod(tmp, 0o755)
        tmp_path = Path(tmp)
        logs = tmp_path / "logs"
        logs.mkdir()
        pg, redis = PostgresServer(tmp_path / "pg"), RedisServer(tmp_path / "redis")
        pg.start()
        redis.start()
        rig = None
        try:
            config = {"HUB_ENV": "testing", "DATABASE_URL": pg.url, "REDIS_URL": redis.url,
                      "SECRET_KEY": "chaos-" + uuid.uuid4().hex * 2,
                      "JWT_SECRET_KEY": "chaos-jwt-" + uuid.uuid4().hex * 2,
                      "BEAT_SCHEDULE_FILE": str(tmp_path / "celerybeat-schedule")}
            _migrate(config)
            rig = Rig(config, logs, pg, redis, workers=args.workers)
            rig.start()
            report = run(rig, args.jobs, SHORT_PLAN if args.short else FULL_PLAN)
        finally:
            if rig is not None:
                rig.stop()
            redis.stop()
            pg.stop()
        print("\n".join(report.lines()))
        return 0 if report.ok else 1


def _migrate(config: dict[str, Any]) -> None:
    from flask_migrate import upgrade

    from hub import create_app

    app = create_app(config)
    with app.app_context():
        upgrade()


if __name__ == "__main__":
    sys.exit(main())
