"""gunicorn.conf.py: the API in several processes, Socket.IO correct across them."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid

import pytest
import requests
from localservices import free_port

from tests.helpers import PASSWORD
from tests.processes import BIN, ROOT, HubProcess, child_env, wait_until
from tests.socket_client import RecordingClient

pytestmark = pytest.mark.e2e


def _worker_pids(master: int) -> list[int]:
    children = f"/proc/{master}/task/{master}/children"
    return [int(p) for p in open(children).read().split()] if os.path.exists(children) else []


def test_several_processes_serve_websockets_and_refuse_long_polling(app, base_config, process_logs):
    port = free_port()
    proc = _start(base_config, process_logs, port, WEB_CONCURRENCY="3")
    base = f"http://127.0.0.1:{port}"
    clients: list[RecordingClient] = []
    try:
        wait_until(lambda: len(_worker_pids(proc.pid)) == 3, 30, "3 gunicorn workers")
        # Long-polling needs sticky sessions, which several processes cannot promise: refused.
        polling = requests.get(base + "/socket.io/?EIO=4&transport=polling", timeout=5)
        assert polling.status_code == 400
        email = f"{uuid.uuid4().hex[:10]}@example.com"
        resp = requests.post(base + "/api/v1/auth/register", timeout=10, json={
            "tenant_name": "Procs", "name": "P", "email": email, "password": PASSWORD})
        assert resp.status_code == 201, resp.text + proc.log_tail(60)
        token = resp.json()["data"]["access_token"]
        # Several WebSockets land on different processes; each hears the same job's updates,
        # whichever process accepted the request (the Redis message queue connects them).
        clients = [RecordingClient(base, token) for _ in range(6)]
        job = requests.post(base + "/api/v1/jobs", timeout=10,
                            headers={"Authorization": f"Bearer {token}"},
                            json={"type": "demo.sleep", "payload": {"seconds": 0}}).json()["data"]
        for client in clients:
            wait_until(lambda c=client: c.job_updates(job["id"]), 30, "the update on every socket")
    finally:
        for client in clients:
            client.close()
        proc.stop()


def test_polling_with_several_processes_is_refused_at_start(base_config, process_logs):
    env = child_env(base_config, WEB_CONCURRENCY="2", SOCKETIO_TRANSPORTS="websocket,polling")
    result = subprocess.run([str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "-b",
                             f"127.0.0.1:{free_port()}", "wsgi:app"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "sticky sessions" in result.stderr + result.stdout


def test_a_stop_closes_websockets_instead_of_waiting_for_them(app, base_config, process_logs):
    """SIGTERM (a deploy, a restart) closes the open sockets so the process exits, rather
    than waiting the whole graceful timeout for browsers that never leave."""
    port = free_port()
    # A graceful timeout far above what the stop should take: exiting before it means the
    # worker did not wait for the socket to go away by itself.
    proc = _start(base_config, process_logs, port, WEB_CONCURRENCY="1",
                  GUNICORN_CMD_ARGS="--graceful-timeout 90")
    base = f"http://127.0.0.1:{port}"
    resp = requests.post(base + "/api/v1/auth/register", timeout=10, json={
        "tenant_name": "Stop", "name": "S", "email": f"{uuid.uuid4().hex[:10]}@example.com",
        "password": PASSWORD})
    assert resp.status_code == 201, resp.text + proc.log_tail(60)
    client = RecordingClient(base, resp.json()["data"]["access_token"])
    closed = threading.Event()
    client.sio.on("disconnect", lambda *_reason: closed.set())
    try:
        proc.proc.send_signal(signal.SIGTERM)
        assert closed.wait(30), "the server did not close the socket on SIGTERM"
        try:
            proc.proc.wait(45)
        except subprocess.TimeoutExpired:
            raise AssertionError("gunicorn still waits for its requests after closing the sockets "
                                 + proc.log_tail(40)) from None
        assert proc.proc.returncode == 0, proc.log_tail(40)
    finally:
        client.close()
        proc.stop()


def _start(base_config, process_logs, port: int, **env: str) -> HubProcess:
    """The Procfile's command, with the environment an operator would set."""
    cmd = [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "-b", f"127.0.0.1:{port}",
           "wsgi:app"]
    proc = HubProcess("gunicorn", cmd, child_env(base_config, **env), process_logs)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health/live", timeout=1).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.stop()
    raise AssertionError("gunicorn did not start")
