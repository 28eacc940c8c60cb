"""Where a job's CPU goes: cProfile over the accept path or a worker's drain, in one process.

`python -m bench.profile accept` runs POST /jobs through the Flask app
(werkzeug's test client: the same views, middleware and extensions as under
gunicorn, without the HTTP server) and prints the heaviest functions.
`python -m bench.profile batch` does the same for POST /jobs/batch;
`python -m bench.profile drain` runs no-op jobs through the worker's task code
(HubTask, claim, finish, emits) in this process, as a prefork child would.
The stack is bench.stack's (its own PostgreSQL and Redis).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import time

from bench.stack import bench_user, hub_stack

DEMO0 = {"type": "demo.sleep", "payload": {"seconds": 0}}


def _accept(app, token: str, n: int, batch: int) -> tuple[cProfile.Profile, float, int]:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    path, body = (("/api/v1/jobs", DEMO0) if batch <= 1
                  else ("/api/v1/jobs/batch", {"jobs": [DEMO0] * batch}))
    raw = json.dumps(body).encode()
    for _ in range(20):
        resp = client.post(path, data=raw, headers=headers, content_type="application/json")
        assert resp.status_code == 202, resp.get_data()[:300]
    calls = max(1, n // max(batch, 1))
    profile = cProfile.Profile()
    started = time.process_time()
    profile.enable()
    for _ in range(calls):
        client.post(path, data=raw, headers=headers, content_type="application/json")
    profile.disable()
    return profile, time.process_time() - started, calls * max(batch, 1)


def _drain(app, tenant_id, n: int) -> tuple[cProfile.Profile, float, int]:
    from hub import jobs
    from tasks.jobs import run_job  # noqa: F401 - registers the task
    from workers.base import HubTask

    HubTask.flask_app = app  # the benchmark's app, not one configured from the environment
    task = app.extensions["celery"].tasks[jobs.RUN_TASK]
    with app.app_context():
        ids = [str(jobs.create_job(tenant_id, "demo.sleep", {"seconds": 0}).id) for _ in range(n + 20)]
        jobs.commit_and_dispatch()
    for job_id in ids[:20]:
        task.apply(args=[job_id], task_id=job_id)
    profile = cProfile.Profile()
    started = time.process_time()
    profile.enable()
    for job_id in ids[20:]:
        task.apply(args=[job_id], task_id=job_id)
    profile.disable()
    return profile, time.process_time() - started, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=("accept", "batch", "drain"))
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative")
    args = parser.parse_args()
    with hub_stack() as stack:
        app = stack["app"]
        token, tenant_id = bench_user(app)
        if args.what == "drain":
            profile, cpu, items = _drain(app, tenant_id, args.n)
        else:
            profile, cpu, items = _accept(app, token, args.n, args.batch if args.what == "batch" else 1)
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
        print(f"{items} jobs, {1000 * cpu / items:.3f} ms CPU per job in this process (profiled)")


if __name__ == "__main__":
    main()
