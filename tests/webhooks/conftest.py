"""Fixtures for webhook tests: a real HTTP receiver on loopback, a worker and beat set up
with a short retry schedule, and helpers to create endpoints through the API."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.http_fake import Answer, FakeHTTPServer
from tests.support.processes import wait_until

# The worker's settings: a schedule of ~1 s waits (same length as the spec's, so
# the attempt budget is the same 8), every retry parked in the database for the
# relay, and a short send timeout for the slow-receiver test.
WORKER_SETTINGS = {
    "WEBHOOK_RETRY_SCHEDULE": "[1, 1, 1, 1, 1, 1, 1]",
    "JOB_SHORT_RETRY_SECONDS": "0.5",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
}


class Receiver(FakeHTTPServer):
    """A webhook receiver on the scripted fake, answering per path.

    A script entry is a status code, or a dict with `status`, `headers`, `body` and
    `delay` (seconds to wait before answering); once a path's script is used up it
    answers `then` (200 unless scripted otherwise). A body not given is `answer <status>`.
    """

    def __init__(self) -> None:
        self._then: dict[str, Any] = {}
        super().__init__(lambda request: self._answer(self._then.get(request.path, 200)))

    @staticmethod
    def _answer(entry: Any) -> Answer:
        answer = Answer.of(entry)
        if answer.body == b"" and not (isinstance(entry, dict) and "body" in entry):
            answer.body = f"answer {answer.status}"
        return answer

    def script(self, path: str, *answers: Any, then: Any = 200) -> None:
        """Answer the next requests to `path` with `answers`, and later ones with `then`."""
        super().script(path, *(self._answer(a) for a in answers))
        with self.lock:
            self._then[path] = then


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def webhook_worker(module_workers):
    """One real worker (all queues) for the module, with WORKER_SETTINGS."""
    return module_workers.worker("webhooks", WORKER_SETTINGS)


@pytest.fixture(scope="module")
def webhook_beat(module_workers):
    """A real beat for the module: its relay sends the retries parked in the database."""
    return module_workers.beat()


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
