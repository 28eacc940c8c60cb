"""Bulk retry end to end: jobs a real worker failed for good are retried by filter and
then succeed on that worker."""
from __future__ import annotations

import pytest

from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e


def test_jobs_failed_for_good_succeed_after_a_bulk_retry_by_error_code(register, staff, start_worker,
                                                                        start_beat):
    start_worker("opsretry")
    start_beat()
    owner = register()
    # demo.sleep has 3 attempts: failing the first 3 fails the job; a retry's 4th succeeds.
    ids = [owner.post("/api/v1/jobs", json={"type": "demo.sleep",
                                            "payload": {"seconds": 0, "fail_times": 3}})
           .get_json()["data"]["id"] for _ in range(2)]

    def statuses() -> dict[str, str]:
        return {j: owner.get(f"/api/v1/jobs/{j}").get_json()["data"]["status"] for j in ids}

    wait_until(lambda: set(statuses().values()) == {"failed"}, 90, "both jobs to fail for good")
    body = {"filter": {"tenant_id": owner.tenant["id"], "error_code": "DEMO_FAILURE"}}
    dry = staff.post("/api/v1/operations/jobs/retry", json=body).get_json()["data"]
    assert dry["selected"] == 2
    done = staff.post("/api/v1/operations/jobs/retry",
                      json={**body, "dry_run": False, "expected": 2}).get_json()["data"]
    assert done["done"] == 2
    wait_until(lambda: set(statuses().values()) == {"succeeded"}, 60, "both jobs to succeed")
    job = owner.get(f"/api/v1/jobs/{ids[0]}").get_json()["data"]
    assert job["attempts"] == 4 and job["error"] is None
