"""A short chaos run (scripts/chaos.py): 150 jobs while a worker is SIGKILLed and Redis,
PostgreSQL and the API are each restarted once. Every job succeeds, every side effect
lands exactly once, and no request hangs or gets a 5xx other than 503."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import chaos  # noqa: E402

from tests.support.helpers import reconnect_redis  # noqa: E402

# About 1.5 minutes here; the room is for a machine busy with other test runs.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]


def test_jobs_survive_one_fault_of_each_kind_exactly_once(app, base_config, process_logs,
                                                          postgres_server, redis_server):
    if postgres_server is None or redis_server is None:
        pytest.fail("the chaos run restarts the PostgreSQL and Redis the test set-up started")
    rig = chaos.Rig(base_config, process_logs, postgres_server, redis_server, workers=2)
    try:
        rig.start()
        report = chaos.run(rig, jobs=150, plan=chaos.SHORT_PLAN, finish_timeout=150)
    finally:
        rig.stop()
        reconnect_redis(app)
    print("\n".join(report.lines()))
    assert report.accepted == report.submitted == 150, report.lines()
    assert report.succeeded == 150 and report.lost == 0, report.lines()
    assert report.missing_effects == 0 and report.duplicated_effects == 0, report.lines()
    assert report.bad_responses == 0, report.lines()
    assert report.crashed == [], report.lines()
    assert set(report.recoveries) == {"worker", "redis", "postgres", "api"}
    assert report.responses.get("409", 0) == 0, "a retried submission was locked out"

