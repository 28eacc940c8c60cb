"""Fixtures for webhook tests: a real HTTP receiver on loopback, a worker and beat set up
with a short retry schedule, and helpers to create endpoints through the API."""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.processes import start_beat, start_ready_worker, wait_until

# The worker's settings: a schedule of ~1 s waits (same length as the spec's, so
# the attempt budget is the same 8), every retry parked in the database for the
# relay, and a short send timeout for the slow-receiver test.
WORKER_SETTINGS = {
    "WEBHOOK_RETRY_SCHEDULE": "[1, 1, 1, 1, 1, 1, 1]",
    "JOB_SHORT_RETRY_SECONDS": "0.5",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)
    # Every header line as sent, repeats included (`headers` keeps one per name).
    header_lines: list[tuple[str, str]] = field(default_factory=list)

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.header_lines if k.lower() == name.lower()]


class Receiver:
    """A threaded HTTP server that records requests and answers as scripted, per path.

    A script entry is a status code, or a dict with `status`, `headers`, `body`
    and `delay` (seconds to wait before answering). Unscripted requests get 200.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._scripts: dict[str, list[Any]] = {}
        self._always: dict[str, Any] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                record = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                  body, header_lines=list(self.headers.items()))
                with receiver._lock:
                    receiver.received.append(record)
                    answer = receiver._next_answer(self.path)
                self._answer(answer)

            do_GET = do_POST  # noqa: N815

            def _answer(self, answer: Any) -> None:
                if isinstance(answer, int):
                    answer = {"status": answer}
                time.sleep(answer.get("delay", 0))
                payload = answer.get("body", f"answer {answer['status']}").encode()
                try:
                    self.send_response(answer["status"])
                    for name, value in answer.get("headers", {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                pass  # the worker hung up early (the timeout test)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _next_answer(self, path: str) -> Any:
        queue = self._scripts.get(path)
        if queue:
            return queue.pop(0)
        return self._always.get(path, 200)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *answers: Any, then: Any = 200) -> None:
        """Answer the next requests to `path` with `answers`, and later ones with `then`."""
        with self._lock:
            self._scripts[path] = list(answers)
            self._always[path] = then

    def requests(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if path is None or r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def webhook_worker(app, base_config, process_logs):
    """One real worker (all queues) for the module, with WORKER_SETTINGS."""
    worker = start_ready_worker(app.extensions["celery"], {**base_config, **WORKER_SETTINGS},
                                process_logs, "webhooks")
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def webhook_beat(app, base_config, process_logs):
    """A real beat for the module: its relay sends the retries parked in the database."""
    beat = start_beat(base_config, process_logs)
    yield beat
    beat.stop()


def create_endpoint(account, url: str, events: list[str], **extra: Any) -> dict[str, Any]:
    resp = account.post("/api/v1/webhook-endpoints", json={"url": url, "events": events, **extra})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["data"]


def publish(app, tenant_id: str, event_type: str, data: dict[str, Any]) -> None:
    """Announce a domain event as a feature would, in its own transaction."""
    from hub import jobs
    from hub.jobs import events

    with app.app_context():
        events.publish(uuid.UUID(tenant_id), event_type, data)
        jobs.commit_and_dispatch()


def deliveries(account, endpoint_id: str) -> list[dict[str, Any]]:
    resp = account.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries?per_page=100")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]


def wait_for_delivery(account, endpoint_id: str, status: str, timeout: float = 60) -> dict[str, Any]:
    def check():
        found = deliveries(account, endpoint_id)
        return found[0] if found and found[0]["status"] == status else None

    return wait_until(check, timeout, f"a {status} delivery to endpoint {endpoint_id}")
