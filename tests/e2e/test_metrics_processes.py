"""Metrics from the processes the Procfile runs: the API's /metrics summed over gunicorn's
processes (with the realtime processes' open sockets), and a worker's own /metrics."""
from __future__ import annotations

import uuid

import pytest
import requests
from localservices import free_port

from tests.support.helpers import PASSWORD
from tests.support.metrics import scrape, value
from tests.support.processes import WebHub, wait_until
from tests.support.socket_client import connect

pytestmark = pytest.mark.e2e


def test_the_apis_metrics_add_up_every_process_and_count_open_sockets(app, base_config, process_logs):
    web = WebHub({**base_config, "WEB_CONCURRENCY": 3, "METRICS_CACHE_SECONDS": 0}, process_logs)
    sockets = []
    try:
        for _ in range(30):  # spread over the three processes by the kernel
            assert requests.get(web.url + "/health/live", timeout=5).ok
        found = scrape(web.url + "/metrics")
        assert value(found, "hub_http_requests_total", method="GET", route="/health/live",
                     status="200") >= 30
        user = requests.post(web.url + "/api/v1/auth/register", timeout=10, json={
            "tenant_name": "M", "name": "M", "email": f"{uuid.uuid4().hex[:8]}@example.com",
            "password": PASSWORD}).json()["data"]
        sockets = [connect(web.url, user["access_token"]) for _ in range(3)]
        wait_until(lambda: value(scrape(web.url + "/metrics"), "hub_socket_connections") >= 3, 30,
                   "the realtime process to report its sockets")
    finally:
        for sio in sockets:
            sio.disconnect()
        web.stop()


def test_a_worker_serves_its_jobs_metrics_on_worker_metrics_port(app, base_config, process_logs,
                                                                  start_worker):
    port = free_port()
    worker = start_worker("metrics", {"WORKER_METRICS_PORT": port})
    web = WebHub(base_config, process_logs)
    try:
        user = requests.post(web.url + "/api/v1/auth/register", timeout=10, json={
            "tenant_name": "W", "name": "W", "email": f"{uuid.uuid4().hex[:8]}@example.com",
            "password": PASSWORD}).json()["data"]
        headers = {"Authorization": f"Bearer {user['access_token']}"}
        ids = [requests.post(web.url + "/api/v1/jobs", headers=headers, timeout=10, json={
            "type": "demo.sleep", "payload": {"seconds": 0}}).json()["data"]["id"] for _ in range(3)]
        for job_id in ids:
            wait_until(lambda j=job_id: requests.get(f"{web.url}/api/v1/jobs/{j}", headers=headers,
                                                     timeout=5).json()["data"]["status"] == "succeeded",
                       30, "the job to succeed")
        found = scrape(f"http://127.0.0.1:{port}/metrics")
        # Three attempts, whichever of the prefork children ran them.
        assert value(found, "hub_job_attempts_total", type="demo.sleep", outcome="succeeded") == 3
        assert value(found, "hub_job_duration_seconds_count", type="demo.sleep", status="succeeded") == 3
        assert value(found, "hub_job_queue_wait_seconds_count", type="demo.sleep") == 3
    finally:
        web.stop()
        worker.stop()
