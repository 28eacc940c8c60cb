"""Flower as staff read it: each job under its type's name with its job id and tenant,
and beat's housekeeping ticks (the relay twice a second here) nowhere in the task list."""
from __future__ import annotations

import pytest
import requests
from localservices import free_port

from tests.support.processes import start_flower, wait_until

pytestmark = pytest.mark.e2e
AUTH = ("ops", "flower-test-pass")


def test_flower_lists_jobs_by_type_with_their_ids_and_no_housekeeping(
        base_config, process_logs, start_worker, start_beat, register):
    owner = register()
    start_worker("flowernames")
    start_beat()
    port = free_port()
    flower = start_flower(base_config, process_logs, port, ":".join(AUTH))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(base + "/healthcheck", timeout=1).ok, 30,
                   "Flower to start", proc=flower.proc)
        submitted: list[str] = []

        def seen() -> dict | None:
            tasks = requests.get(base + "/api/tasks", timeout=10, auth=AUTH).json()
            done = [tasks[j] for j in submitted if (tasks.get(j) or {}).get("state") == "SUCCESS"]
            if done:
                return {"job": done[0], "all": tasks}
            resp = owner.post("/api/v1/jobs", json={"type": "demo.sleep", "payload": {"seconds": 0}})
            assert resp.status_code == 202, resp.get_json()
            submitted.append(resp.get_json()["data"]["id"])
            return None

        found = wait_until(seen, 45, "Flower to show a job's run", interval=1)
        job = found["job"]
        assert job["name"] == "demo.sleep"
        assert job["uuid"] in submitted and job["uuid"] in job["kwargs"]
        assert owner.tenant["id"] in job["kwargs"]
        # The relay ran many times meanwhile (beat sends it every 0.5 s) without a trace here.
        names = {task["name"] for task in found["all"].values()}
        assert not [name for name in names if name and name.startswith("hub.maintenance.")], names
    finally:
        flower.stop()
