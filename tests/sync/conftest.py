"""Fixtures for sync tests: a scripted JSON source on loopback, and a worker and beat set up
with quick in-process retries."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.processes import start_beat, start_ready_worker, wait_until

WORKER_SETTINGS = {
    "SYNC_HTTP_BACKOFF_SECONDS": "0.05",
    "SYNC_HTTP_RETRIES": "3",
    "SYNC_MAX_INLINE_WAIT_SECONDS": "2",
    "SYNC_BATCH_SIZE": "7",          # several batches per page, so batching is exercised
    "JOB_SHORT_RETRY_SECONDS": "0.5",
}


class Source:
    """A paged JSON API: `GET /items?page=N&per_page=M` over `self.items`.

    Scripted failures per page number: a queue of answers (a status, or a dict with
    `status`, `headers`) served before the real page. `delay` slows every page.
    `token`, when set, must come as `Authorization: Bearer <token>` (else 401).
    """

    def __init__(self, count: int = 25) -> None:
        self.items: list[dict[str, Any]] = [{"id": n, "name": f"item {n}", "price": n * 10}
                                            for n in range(1, count + 1)]
        self.failures: dict[int, list[Any]] = {}
        self.delay = 0.0
        self.token: str | None = None
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        source = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                query = parse_qs(urlsplit(self.path).query)
                page = int(query.get("page", ["1"])[0])
                per_page = int(query.get("per_page", ["10"])[0])
                with source.lock:
                    source.requests.append({"page": page, "auth": self.headers.get("Authorization"),
                                            "at": time.monotonic()})
                    scripted = source.failures.get(page)
                    answer = scripted.pop(0) if scripted else None
                    items = source.items[(page - 1) * per_page: page * per_page]
                time.sleep(source.delay)
                if answer is None and source.token and \
                        self.headers.get("Authorization") != f"Bearer {source.token}":
                    answer = 401
                if answer is not None:
                    answer = {"status": answer} if isinstance(answer, int) else answer
                    self._send(answer["status"], {"error": "scripted"}, answer.get("headers", {}))
                    return
                self._send(200, {"items": items, "page": page})

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                payload = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/items"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fail(self, page: int, *answers: Any) -> None:
        with self.lock:
            self.failures[page] = list(answers)

    def pages_requested(self) -> list[int]:
        with self.lock:
            return [r["page"] for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def source() -> Iterator[Source]:
    server = Source()
    yield server
    server.close()


@pytest.fixture(scope="module")
def sync_worker(app, base_config, process_logs):
    worker = start_ready_worker(app.extensions["celery"], {**base_config, **WORKER_SETTINGS},
                                process_logs, "sync")
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def sync_beat(app, base_config, process_logs):
    beat = start_beat(base_config, process_logs)
    yield beat
    beat.stop()


def create_connection(account, url: str, **extra: Any) -> dict[str, Any]:
    body = {"connector": "rest", "name": "Source", "config": {"url": url, "per_page": 10}, **extra}
    resp = account.post("/api/v1/connections", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["data"]


def sync(account, connection_id: str) -> dict[str, Any]:
    resp = account.post(f"/api/v1/connections/{connection_id}/sync")
    assert resp.status_code == 202, resp.get_json()
    return resp.get_json()["data"]


def wait_job(account, job_id: str, status: str, timeout: float = 60) -> dict[str, Any]:
    def check():
        job = account.get(f"/api/v1/jobs/{job_id}").get_json()["data"]
        return job if job["status"] == status else None

    return wait_until(check, timeout, f"job {job_id} to be {status}")


def records(account, connection_id: str, **params: Any) -> list[dict[str, Any]]:
    found, page = [], 1
    while True:
        query = "&".join(f"{k}={v}" for k, v in {"page": page, "per_page": 100, **params}.items())
        body = account.get(f"/api/v1/connections/{connection_id}/records?{query}").get_json()
        found += body["data"]
        if len(found) >= body["meta"]["pagination"]["total"]:
            return found
        page += 1
