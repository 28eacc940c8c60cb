"""The entry points as operators run them: gunicorn serving HTTP, the realtime process
serving Socket.IO, Flower."""
from __future__ import annotations

import pytest
import requests
import socketio
from localservices import free_port

from tests.support.helpers import PASSWORD
from tests.support.processes import start_flower, wait_until
from tests.support.socket_client import connect

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(module_live_server):
    return module_live_server


def _register(base: str) -> dict:
    resp = requests.post(base + "/api/v1/auth/register", timeout=10, json={
        "tenant_name": "Socket Co", "name": "S", "email": "s@example.com", "password": PASSWORD})
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]


def test_gunicorn_serves_the_api_and_the_realtime_process_authenticated_socketio(server):
    data = _register(server)
    me = requests.get(server + "/api/v1/auth/me", timeout=5,
                      headers={"Authorization": f"Bearer {data['access_token']}"})
    assert me.status_code == 200 and me.headers["X-Request-ID"]
    assert requests.get(server + "/openapi.json", timeout=5).json()["info"]["version"] == "v1"

    # gunicorn no longer answers Socket.IO at all: it has its own process.
    assert requests.get(server + "/socket.io/?EIO=4&transport=polling", timeout=5).status_code == 404
    sio = connect(server, data["access_token"])
    try:
        assert sio.connected
    finally:
        sio.disconnect()


@pytest.mark.parametrize("auth", [None, {"token": "not-a-jwt"}, {"token": ""}, {}])
def test_socket_without_a_valid_token_is_refused(server, auth):
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(server, auth)


def test_socket_with_a_refresh_token_is_refused(server):
    data = _register(server)
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(server, data["refresh_token"])


def test_flower_requires_its_basic_auth_and_sees_the_worker_and_its_tasks(
        base_config, process_logs, start_worker, register):
    owner = register()
    worker = start_worker("flowerwatch")
    port = free_port()
    flower = start_flower(base_config, process_logs, port, "ops:flower-test-pass")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(base + "/healthcheck", timeout=1).ok, 30,
                   "Flower to start", proc=flower.proc)
        assert requests.get(base + "/api/workers", timeout=5).status_code == 401
        assert requests.get(base + "/api/workers", timeout=5,
                            auth=("ops", "wrong")).status_code == 401

        def workers():
            resp = requests.get(base + "/api/workers?refresh=1", timeout=10,
                                auth=("ops", "flower-test-pass"))
            return resp.ok and [name for name in resp.json() if worker.name in name]

        assert wait_until(workers, 30, "Flower to list the worker")

        # The worker starts without task events and Flower turns them on (its timer runs
        # every 5 s); from then on every job's run shows up live under its job id.
        submitted: list[str] = []

        def a_job_seen_by_flower() -> bool:
            tasks = requests.get(base + "/api/tasks", timeout=10,
                                 auth=("ops", "flower-test-pass")).json()
            if any((tasks.get(job_id) or {}).get("state") == "SUCCESS" for job_id in submitted):
                return True
            resp = owner.post("/api/v1/jobs", json={"type": "demo.sleep", "payload": {"seconds": 0}})
            assert resp.status_code == 202, resp.get_json()
            submitted.append(resp.get_json()["data"]["id"])
            return False

        assert wait_until(a_job_seen_by_flower, 45, "Flower to show a job's run", interval=1)
    finally:
        flower.stop()
