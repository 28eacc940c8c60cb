"""Fixtures for sync tests: a scripted JSON source on loopback, and a worker and beat set up
with quick in-process retries."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.http_fake import Answer, FakeHTTPServer, Request

WORKER_SETTINGS = {
    "SYNC_HTTP_BACKOFF_SECONDS": "0.05",
    "SYNC_HTTP_RETRIES": "3",
    "SYNC_MAX_INLINE_WAIT_SECONDS": "2",
    "SYNC_BATCH_SIZE": "7",          # several batches per page, so batching is exercised
    "JOB_SHORT_RETRY_SECONDS": "0.5",
}


class Source:
    """A paged JSON API on the scripted fake: `GET /items?page=N&per_page=M` over `self.items`.

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
        self.server = FakeHTTPServer(self._page)
        self.url = self.server.url("/items")

    def _page(self, request: Request) -> Answer:
        page = int(request.param("page", "1"))
        per_page = int(request.param("per_page", "10"))
        scripted = self.failures.get(page)
        answer = scripted.pop(0) if scripted else None
        items = self.items[(page - 1) * per_page: page * per_page]
        if answer is None and self.token and request.headers.get("authorization") != f"Bearer {self.token}":
            answer = 401
        if answer is not None:
            answer = {"status": answer} if isinstance(answer, int) else answer
            return Answer(answer["status"], {"error": "scripted"}, answer.get("headers", {}), self.delay)
        return Answer(200, {"items": items, "page": page}, delay=self.delay)

    def fail(self, page: int, *answers: Any) -> None:
        with self.server.lock:
            self.failures[page] = list(answers)

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [{"page": int(r.param("page", "1")), "auth": r.headers.get("authorization"), "at": r.at}
                for r in self.server.requests()]

    def pages_requested(self) -> list[int]:
        return [r["page"] for r in self.requests]

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def source() -> Iterator[Source]:
    server = Source()
    yield server
    server.close()


@pytest.fixture(scope="module")
def sync_worker(module_workers):
    return module_workers.worker("sync", WORKER_SETTINGS)


@pytest.fixture(scope="module")
def sync_beat(module_workers):
    return module_workers.beat()


def create_connection(account, url: str, **extra: Any) -> dict[str, Any]:
    body = {"connector": "rest", "name": "Source", "config": {"url": url, "per_page": 10}, **extra}
    resp = account.post("/api/v1/connections", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["data"]


def sync(account, connection_id: str) -> dict[str, Any]:
    resp = account.post(f"/api/v1/connections/{connection_id}/sync")
    assert resp.status_code == 202, resp.get_json()
    return resp.get_json()["data"]


def records(account, connection_id: str, **params: Any) -> list[dict[str, Any]]:
    found, page = [], 1
    while True:
        query = "&".join(f"{k}={v}" for k, v in {"page": page, "per_page": 100, **params}.items())
        body = account.get(f"/api/v1/connections/{connection_id}/records?{query}").get_json()
        found += body["data"]
        if len(found) >= body["meta"]["pagination"]["total"]:
            return found
        page += 1
